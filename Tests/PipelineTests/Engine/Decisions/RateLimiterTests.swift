import NIOCore
import Testing

@testable import Pipeline

@Suite struct RateLimiterTests {
    @Test func burstThenSteadyRate() {
        var limiter = RateLimiter(rate: 100, burst: 5)
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        for _ in 0..<5 { #expect(limiter.take(now: start) == nil) }
        let wait = limiter.take(now: start)
        #expect(wait == .milliseconds(10))
        #expect(limiter.take(now: start + .milliseconds(10)) == nil)
        // Over one simulated second at most rate + burst requests pass.
        var passed = 0
        var now = start + .milliseconds(10)
        for _ in 0..<10_000 {
            now = now + .microseconds(100)
            if limiter.take(now: now) == nil { passed += 1 }
        }
        #expect(passed >= 99 && passed <= 105)
    }

    @Test func defaultBurstIsATenthOfASecond() {
        #expect(RateLimiter(rate: 1000).burst == 100)
        #expect(RateLimiter(rate: 3).burst == 1)
    }
}
