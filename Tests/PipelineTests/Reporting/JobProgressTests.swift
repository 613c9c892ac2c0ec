import Pipeline
import Testing

/// The progress line's arithmetic never traps and never prints nonsense: a rate that decays
/// toward zero after minutes without a finished record gave `Int(seconds)` an overflow, and
/// ETAs such as `-1112579184:09:48` before that.
struct JobProgressTests {
    @Test(arguments: [0, 1e-300, -5, .nan, .infinity, 1e-6])
    func noRateNoETA(rate: Double) {
        #expect(JobProgress.eta(total: 1_000_000, finished: 10, rate: rate) == nil)
        #expect(JobProgress.clock(JobProgress.eta(total: 1_000_000, finished: 10, rate: rate)) == "—")
    }

    @Test func anETAFromARateAndItsClock() {
        #expect(JobProgress.eta(total: 1_000, finished: 400, rate: 100) == 6)
        #expect(JobProgress.eta(total: nil, finished: 400, rate: 100) == nil)
        #expect(JobProgress.eta(total: 10, finished: 400, rate: 100) == 0, "past the estimate: 0, never negative")
        #expect(JobProgress.clock(6) == "0:06")
        #expect(JobProgress.clock(3_723) == "1:02:03")
        #expect(JobProgress.clock(1e300) == "—")
        #expect(JobProgress.clock(-1) == "—")
        #expect(JobProgress.clock(.nan) == "—")
        #expect(JobProgress.eta(total: Int.max, finished: 0, rate: 1) == nil, "more than 100 days is no ETA")
    }

    @Test func displayedRatesAreWholeAndSane() {
        #expect(JobProgress.wholeRate(1_234.6) == 1_235)
        #expect(JobProgress.wholeRate(.nan) == 0)
        #expect(JobProgress.wholeRate(-3) == 0)
        #expect(JobProgress.wholeRate(.infinity) == 0)
        #expect(JobProgress.wholeRate(1e300) == Int.max)
        #expect(JobProgress.estimateTotal(records: 2, bytesRead: 1, fileSize: .max) == 2, "an estimate past Int.max does not trap")
    }
}
