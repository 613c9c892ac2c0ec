import NIOCore
import Pipeline
import Testing

struct AIMDControllerTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test func throttlingLowersTheRateOncePerHoldPeriod() {
        var aimd = AIMDController(ceiling: 1_000)
        #expect(aimd.throttled(now: start, observedRate: 0) == 700)
        // Answers to requests sent before the decrease do not lower it again at once.
        #expect(aimd.throttled(now: start + .milliseconds(100), observedRate: 0) == nil)
        #expect(abs((aimd.throttled(now: start + .milliseconds(300), observedRate: 0) ?? 0) - 490) < 1e-9)
        #expect(abs((aimd.rate ?? 0) - 490) < 1e-9)
        #expect(aimd.lowest == aimd.rate)
    }

    @Test func anUnlimitedJobStartsFromTheRateItWasSending() {
        var aimd = AIMDController(ceiling: nil)
        #expect(aimd.rate == nil)
        #expect(aimd.throttled(now: start, observedRate: 2_000) == 1_400)
    }

    @Test func theRateRecoversAdditivelyAfterQuietAndNeverPassesTheCeiling() {
        var aimd = AIMDController(ceiling: 1_000)
        _ = aimd.throttled(now: start, observedRate: 0)
        // Not while throttling is recent.
        #expect(aimd.tick(now: start + .milliseconds(500)) == nil)
        // After a second of quiet: 10% of the starting rate per second.
        let raised = aimd.tick(now: start + .seconds(2))
        #expect(abs((raised ?? 0) - (700 + 100 * 2)) < 1e-9)
        #expect(aimd.tick(now: start + .seconds(10)) == 1_000)
        #expect(aimd.tick(now: start + .seconds(20)) == nil, "already at the ceiling")
    }

    @Test func neverBelowTheFloor() {
        var aimd = AIMDController(ceiling: 2)
        var now = start
        for _ in 0..<20 {
            _ = aimd.throttled(now: now, observedRate: 0)
            now = now + .seconds(1)
        }
        #expect(aimd.rate == 1)
    }

    @Test func adjustingTheLimiterKeepsEarnedTokensWithinTheNewBurst() {
        var limiter = RateLimiter(rate: 1_000, burst: 100)
        limiter.adjust(rate: 100)
        #expect(limiter.rate == 100 && limiter.burst == 10)
        var granted = 0
        while limiter.take(now: start) == nil { granted += 1 }
        #expect(granted == 10)
    }
}
