import NIOCore
import Pipeline
import Testing

/// The congestion controller: a rising share of transient answers, whatever their code, lowers
/// the rate; a quiet spell raises it again. Time and answers are passed in.
struct AIMDControllerTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    /// Feeds `count` answers, one in `every` transient, one millisecond apart; returns the decreases.
    static func feed(
        _ aimd: inout AIMDController, count: Int, transientEvery every: Int, from start: NIODeadline, observedRate: Double = 0
    ) -> [Double] {
        var decreases: [Double] = []
        for index in 0..<count {
            let now = start + .milliseconds(Int64(index))
            if let lowered = aimd.answered(congestion: every > 0 && index % every == 0, now: now, observedRate: observedRate) {
                decreases.append(lowered)
            }
        }
        return decreases
    }

    @Test func aLoneTransientAnswerAmongManyIsNoise() {
        var aimd = AIMDController(ceiling: 1_000)
        // One in a hundred (1%) stays below the 5% threshold: no decrease, however long.
        #expect(Self.feed(&aimd, count: 5_000, transientEvery: 100, from: start).isEmpty)
        #expect(aimd.rate == 1_000)
    }

    @Test func aRisingShareLowersTheRateOncePerHoldPeriod() {
        var aimd = AIMDController(ceiling: 1_000)
        // One in three for a second: the share crosses 5% within tens of answers, and the
        // rate comes down by 10% at most once per 250 ms.
        let decreases = Self.feed(&aimd, count: 1_000, transientEvery: 3, from: start)
        #expect(decreases.count == 4)
        #expect(abs(decreases[0] - 900) < 1e-9)
        #expect(abs(decreases[1] - 810) < 1e-9)
        #expect(abs((aimd.rate ?? 0) - 656.1) < 1e-6)
        #expect(aimd.lowest == aimd.rate)
        #expect(aimd.transientShare > 0.2)
    }

    /// A slow job (20 answers a second) meets a short burst of throttling, then none: the share
    /// of the last ~100 answers stays above 5% for seconds, but without fresh transient answers
    /// after a decrease there is no further one (this collapsed a 20/s job to 1/s).
    @Test func aSlowJobIsNotCutAgainOnOldNews() {
        var aimd = AIMDController(ceiling: 30)
        var decreases: [Double] = []
        for index in 0..<200 {
            // Answers 50 ms apart; the 10 first of them throttled, then one in 30.
            let transient = index < 10 || index % 30 == 0
            if let lowered = aimd.answered(congestion: transient, now: start + .milliseconds(Int64(index * 50)), observedRate: 0) {
                decreases.append(lowered)
            }
        }
        #expect(decreases.count <= 2, "\(decreases)")
        #expect((aimd.rate ?? 0) >= 30 * 0.9 * 0.9 - 1e-9)
    }

    /// A service that refuses most requests (a limit of 1,000/s against 18,000/s sent): after
    /// the first decrease the rate goes to what it took, not down by a tenth per 250 ms.
    @Test func mostRequestsRefusedGoesToTheRateTaken() {
        var aimd = AIMDController(ceiling: nil)
        var decreases: [Double] = []
        var now = start
        for index in 0..<5_000 {
            // 18,000 answers a second, 1,000 of them not refused.
            now = now + .nanoseconds(1_000_000_000 / 18_000)
            if let lowered = aimd.answered(congestion: index % 18 != 0, now: now, observedRate: 18_000) { decreases.append(lowered) }
        }
        #expect(decreases.first == 18_000 * 0.9)
        let second = try! #require(decreases.dropFirst().first)
        #expect(abs(second - 1_000) < 20, "\(decreases)")
    }

    @Test func withoutALimitItStartsFromTheObservedRate() {
        var aimd = AIMDController(ceiling: nil)
        #expect(aimd.rate == nil)
        let decreases = Self.feed(&aimd, count: 100, transientEvery: 1, from: start, observedRate: 2_000)
        #expect(decreases.first == 1_800)
    }

    @Test func theRateRecoversAfterAQuietSpellUpToTheCeiling() {
        var aimd = AIMDController(ceiling: 1_000)
        _ = Self.feed(&aimd, count: 100, transientEvery: 1, from: start)
        #expect(aimd.rate == 900)
        let last = start + .milliseconds(99)
        #expect(aimd.tick(now: last + .milliseconds(500)) == nil, "not quiet for long enough")
        // Successes bring the share down; the rate rises by 5% of 1,000 per second.
        _ = Self.feed(&aimd, count: 500, transientEvery: 0, from: last + .milliseconds(1))
        let raised = aimd.tick(now: last + .milliseconds(1_500))
        #expect(raised != nil && raised! > 900 && raised! < 1_000)
        #expect(aimd.tick(now: last + .seconds(10)) == 1_000)
        #expect(aimd.tick(now: last + .seconds(20)) == nil, "already at the ceiling")
    }

    @Test func itNeverGoesBelowTheFloor() {
        var aimd = AIMDController(ceiling: 2)
        for step in 0..<500 {
            _ = aimd.answered(congestion: true, now: start + .seconds(Int64(step)), observedRate: 0)
        }
        #expect(aimd.rate == 1)
    }
}
