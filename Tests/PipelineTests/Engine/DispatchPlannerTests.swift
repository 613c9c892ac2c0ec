import NIOCore
import Pipeline
import ShieldConex
import Testing

/// What goes out when, with no sockets and no clock: the per-connection and undurable limits,
/// the least-loaded choice, the rate limit's wake-ups, the rule that a read is durable before it
/// leaves, and the congestion controller.
struct DispatchPlannerTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func pool(sessions: Int, maxInFlight: Int, up: Int? = nil) -> ConnectionPoolStateMachine {
        var pool = ConnectionPoolStateMachine(count: sessions, maxInFlight: maxInFlight, policy: RetryPolicy(), now: start)
        for session in 0..<(up ?? sessions) { _ = pool.connected(session, now: start) }
        return pool
    }

    @Test func recordsGoInOrderToTheLeastLoadedConnectionWithRoom() {
        var pool = pool(sessions: 2, maxInFlight: 2)
        var planner = DispatchPlanner(action: .tokenize, undurableLimit: 100, rate: nil, burst: nil, adaptiveRate: true, now: start)
        for seq in 0..<5 { planner.enqueue(seq) }
        let plan = planner.plan(now: start, pool: &pool, undurable: 0)
        #expect(plan.sends.map(\.seq) == [0, 1, 2, 3])
        #expect(plan.sends.map(\.session) == [0, 1, 0, 1])
        #expect(!plan.durableBeforeSending && !plan.flushFirst && plan.wakeAfter == nil)
        #expect(planner.queued == 1 && pool.inFlight == 4)
        // One answer on session 1 makes room for exactly one more, there.
        pool.answered(on: 1, generation: 1)
        #expect(planner.plan(now: start, pool: &pool, undurable: 0).sends == [.init(seq: 4, session: 1)])
    }

    @Test func nothingGoesWithoutAConnection() {
        var pool = pool(sessions: 2, maxInFlight: 8, up: 0)
        var planner = DispatchPlanner(action: .tokenize, undurableLimit: 100, rate: nil, burst: nil, adaptiveRate: true, now: start)
        planner.enqueue(0)
        #expect(planner.plan(now: start, pool: &pool, undurable: 0).sends.isEmpty)
        #expect(planner.queued == 1)
    }

    @Test func resultsNotYetDurableCountAgainstTheLimitAndAQuarterOfItIsFlushed() {
        var pool = pool(sessions: 1, maxInFlight: 64)
        var planner = DispatchPlanner(action: .tokenize, undurableLimit: 16, rate: nil, burst: nil, adaptiveRate: true, now: start)
        for seq in 0..<40 { planner.enqueue(seq) }
        // 3 undurable (under a quarter): 13 may go.
        let first = planner.plan(now: start, pool: &pool, undurable: 3)
        #expect(!first.flushFirst && first.sends.count == 13)
        // 4 undurable and 13 in flight: the batch is flushed first, then 3 more fit.
        let second = planner.plan(now: start, pool: &pool, undurable: 4)
        #expect(second.flushFirst && second.sends.count == 3)
    }

    @Test func aReadIsDurableBeforeItLeaves() {
        var pool = pool(sessions: 1, maxInFlight: 8)
        var planner = DispatchPlanner(action: .read, undurableLimit: 100, rate: nil, burst: nil, adaptiveRate: true, now: start)
        planner.enqueue(0)
        #expect(planner.plan(now: start, pool: &pool, undurable: 0).durableBeforeSending)
        var detokenize = DispatchPlanner(action: .detokenize, undurableLimit: 100, rate: nil, burst: nil, adaptiveRate: true, now: start)
        detokenize.enqueue(1)
        #expect(!detokenize.plan(now: start, pool: &pool, undurable: 0).durableBeforeSending)
    }

    @Test func theRateLimitHoldsRecordsBackAndAsksForOneWakeUp() {
        var pool = pool(sessions: 1, maxInFlight: 100)
        var planner = DispatchPlanner(action: .tokenize, undurableLimit: 1_000, rate: 100, burst: 2, adaptiveRate: true, now: start)
        for seq in 0..<10 { planner.enqueue(seq) }
        let first = planner.plan(now: start, pool: &pool, undurable: 0)
        #expect(first.sends.count == 2)
        #expect(first.wakeAfter == .milliseconds(10))
        // Planned again before the wake-up: held back, and no second wake-up.
        let early = planner.plan(now: start + .milliseconds(1), pool: &pool, undurable: 0)
        #expect(early.sends.isEmpty && early.wakeAfter == nil)
        planner.woke()
        let later = planner.plan(now: start + .milliseconds(21), pool: &pool, undurable: 0)
        #expect(later.sends.count == 2 && later.wakeAfter != nil)
    }

    @Test func aRisingShareOfTransientAnswersLowersTheRateAndQuietRaisesIt() {
        var planner = DispatchPlanner(action: .tokenize, undurableLimit: 1_000, rate: 1_000, burst: nil, adaptiveRate: true, now: start)
        var now = start
        var lowered: Double?
        for answer in 0..<200 {
            now = now + .milliseconds(2)
            if let rate = planner.answered(transient: answer % 5 == 0, now: now) { lowered = rate }
        }
        let rate = try! #require(lowered)
        #expect(rate < 1_000 && planner.limiter!.rate == rate)
        for _ in 0..<40 {
            now = now + .milliseconds(250)
            planner.tick(now: now)
        }
        #expect(planner.limiter!.rate > rate)
        var fixed = DispatchPlanner(action: .tokenize, undurableLimit: 1_000, rate: 1_000, burst: nil, adaptiveRate: false, now: start)
        for _ in 0..<200 { #expect(fixed.answered(transient: true, now: now) == nil) }
    }
}
