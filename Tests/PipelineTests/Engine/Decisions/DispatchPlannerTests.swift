import NIOCore
import Pipeline
import ShieldConex
import Testing

/// What goes out when, with no sockets and no clock: the per-connection and undurable limits,
/// the least-loaded choice, the rate limit's wake-ups, the rule that a read is durable before it
/// leaves, and the congestion controller.
struct DispatchPlannerTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func pool(sessions: Int, maxInFlight: Int, up: Int? = nil) -> ConnectionPoolStateMachine<Int> {
        var pool = ConnectionPoolStateMachine<Int>(count: sessions, maxInFlight: maxInFlight, policy: RetryPolicy(), now: start)
        for session in 0..<(up ?? sessions) { _ = pool.connected(session, now: start) { $0 } }
        return pool
    }

    @Test func recordsGoInOrderToTheLeastLoadedConnectionWithRoom() {
        var pool = pool(sessions: 2, maxInFlight: 2)
        var planner = DispatchPlanner(action: .tokenize, window: 100, rate: nil, burst: nil, adaptiveRate: true, now: start)
        for seq in 0..<5 { planner.enqueue(seq) }
        let plan = planner.plan(now: start, pool: &pool, unflushed: 0, inWriter: 0)
        #expect(plan.sends.map(\.seq) == [0, 1, 2, 3])
        #expect(plan.sends.map(\.session) == [0, 1, 0, 1])
        #expect(!plan.durableBeforeSending && !plan.flushFirst && plan.wakeAfter == nil)
        #expect(planner.queued == 1 && pool.inFlight == 4)
        // One answer on session 1 makes room for exactly one more, there.
        pool.answered(on: 1, generation: 1)
        #expect(planner.plan(now: start, pool: &pool, unflushed: 0, inWriter: 0).sends == [.init(seq: 4, session: 1)])
    }

    @Test func nothingGoesWithoutAConnection() {
        var pool = pool(sessions: 2, maxInFlight: 8, up: 0)
        var planner = DispatchPlanner(action: .tokenize, window: 100, rate: nil, burst: nil, adaptiveRate: true, now: start)
        planner.enqueue(0)
        #expect(planner.plan(now: start, pool: &pool, unflushed: 0, inWriter: 0).sends.isEmpty)
        #expect(planner.queued == 1)
    }

    @Test func resultsNotYetDurableCountAgainstTheLimitAndAQuarterOfItIsFlushed() {
        var pool = pool(sessions: 1, maxInFlight: 64)
        var planner = DispatchPlanner(action: .tokenize, window: 16, rate: nil, burst: nil, adaptiveRate: true, now: start)
        for seq in 0..<40 { planner.enqueue(seq) }
        // 3 undurable (under a quarter): 13 may go.
        let first = planner.plan(now: start, pool: &pool, unflushed: 3, inWriter: 0)
        #expect(!first.flushFirst && first.sends.count == 13)
        // Those 3 answered too, 4 unflushed and 12 in flight: the batch is handed over, and no
        // more fit, since what the writer holds is lost by a kill as well.
        pool.answered(on: 0, generation: 1)
        let second = planner.plan(now: start, pool: &pool, unflushed: 4, inWriter: 0)
        #expect(second.flushFirst && second.sends.isEmpty)
        // The writer has 4, 12 in flight: nothing to flush and no room.
        #expect(planner.plan(now: start, pool: &pool, unflushed: 0, inWriter: 4).sends.isEmpty)
        // The writer stored them: 4 more may go.
        let third = planner.plan(now: start, pool: &pool, unflushed: 0, inWriter: 0)
        #expect(!third.flushFirst && third.sends.count == 4)
    }

    /// In flight, unflushed and in the writer together never pass the limit, whatever the order
    /// of answers, hand-overs and stores: a kill costs at most the limit in requests sent again.
    @Test func inFlightAndUndurableNeverPassTheLimit() {
        var generator = SystemRandomNumberGenerator()
        for limit in [4, 16, 128] {
            var pool = pool(sessions: 3, maxInFlight: 64)
            var planner = DispatchPlanner(action: .tokenize, window: limit, rate: nil, burst: nil, adaptiveRate: true, now: start)
            var inFlight: [Int] = []
            var unflushed = 0
            var writer: [Int] = []
            var next = 0
            for _ in 0..<5_000 {
                while planner.queued < 50 { planner.enqueue(next); next += 1 }
                switch Int.random(in: 0..<4, using: &generator) {
                case 0:
                    let plan = planner.plan(now: start, pool: &pool, unflushed: unflushed, inWriter: writer.reduce(0, +))
                    if plan.flushFirst { writer.append(unflushed); unflushed = 0 }
                    inFlight += plan.sends.map(\.session)
                case 1 where !inFlight.isEmpty:
                    let session = inFlight.remove(at: Int.random(in: inFlight.indices, using: &generator))
                    pool.answered(on: session, generation: 1)
                    unflushed += 1
                case 2 where !writer.isEmpty:
                    writer.removeFirst()
                case 3 where unflushed > 0:
                    writer.append(unflushed)
                    unflushed = 0
                default:
                    break
                }
                #expect(inFlight.count + unflushed + writer.reduce(0, +) <= limit)
                #expect(pool.inFlight == inFlight.count)
            }
        }
    }

    @Test func aReadIsDurableBeforeItLeaves() {
        var pool = pool(sessions: 1, maxInFlight: 8)
        var planner = DispatchPlanner(action: .read, window: 100, rate: nil, burst: nil, adaptiveRate: true, now: start)
        planner.enqueue(0)
        #expect(planner.plan(now: start, pool: &pool, unflushed: 0, inWriter: 0).durableBeforeSending)
        var detokenize = DispatchPlanner(action: .detokenize, window: 100, rate: nil, burst: nil, adaptiveRate: true, now: start)
        detokenize.enqueue(1)
        #expect(!detokenize.plan(now: start, pool: &pool, unflushed: 0, inWriter: 0).durableBeforeSending)
    }

    @Test func theRateLimitHoldsRecordsBackAndAsksForOneWakeUp() {
        var pool = pool(sessions: 1, maxInFlight: 100)
        var planner = DispatchPlanner(action: .tokenize, window: 1_000, rate: 100, burst: 2, adaptiveRate: true, now: start)
        for seq in 0..<10 { planner.enqueue(seq) }
        let first = planner.plan(now: start, pool: &pool, unflushed: 0, inWriter: 0)
        #expect(first.sends.count == 2)
        #expect(first.wakeAfter == .milliseconds(10))
        // Planned again before the wake-up: held back, and no second wake-up.
        let early = planner.plan(now: start + .milliseconds(1), pool: &pool, unflushed: 0, inWriter: 0)
        #expect(early.sends.isEmpty && early.wakeAfter == nil)
        planner.woke()
        let later = planner.plan(now: start + .milliseconds(21), pool: &pool, unflushed: 0, inWriter: 0)
        #expect(later.sends.count == 2 && later.wakeAfter != nil)
    }

    @Test func aRisingShareOfTransientAnswersLowersTheRateAndQuietRaisesIt() {
        var planner = DispatchPlanner(action: .tokenize, window: 1_000, rate: 1_000, burst: nil, adaptiveRate: true, now: start)
        var now = start
        var lowered: Double?
        for answer in 0..<200 {
            now = now + .milliseconds(2)
            if let rate = planner.answered(congestion: answer % 5 == 0, now: now) { lowered = rate }
        }
        let rate = try! #require(lowered)
        #expect(rate < 1_000 && planner.limiter!.rate == rate)
        for _ in 0..<40 {
            now = now + .milliseconds(250)
            planner.tick(now: now)
        }
        #expect(planner.limiter!.rate > rate)
        var fixed = DispatchPlanner(action: .tokenize, window: 1_000, rate: 1_000, burst: nil, adaptiveRate: false, now: start)
        for _ in 0..<200 { #expect(fixed.answered(congestion: true, now: now) == nil) }
    }

    /// A service that throttles from the first burst, before the first tick has measured the send
    /// rate: the rate comes down from what was sent so far (1,000 requests, taken over at least
    /// 50 ms: 20,000/s), not to the floor of 1 request a second.
    @Test func throttlingBeforeTheFirstTickLowersTheRateFromWhatWasSent() throws {
        var pool = pool(sessions: 4, maxInFlight: 256)
        var planner = DispatchPlanner(action: .tokenize, window: 1_024, rate: nil, burst: nil, adaptiveRate: true, now: start)
        for seq in 0..<1_000 { planner.enqueue(seq) }
        #expect(planner.plan(now: start, pool: &pool, unflushed: 0, inWriter: 0).sends.count == 1_000)
        var lowered: Double?
        var now = start
        for _ in 0..<100 where lowered == nil {
            now = now + .microseconds(800)
            lowered = planner.answered(congestion: true, now: now)
        }
        let rate = try #require(lowered)
        #expect(rate == 20_000 * 0.9, "lowered to \(rate)/s")
    }

    @Test func aPlanSaysWhenTheWindowHeldRecordsBackAndANewWindowTakesEffectAtOnce() {
        var pool = pool(sessions: 2, maxInFlight: 256)
        var planner = DispatchPlanner(action: .tokenize, window: 8, rate: nil, burst: nil, adaptiveRate: true, now: start)
        for seq in 0..<20 { planner.enqueue(seq) }
        let first = planner.plan(now: start, pool: &pool, unflushed: 0, inWriter: 0)
        #expect(first.sends.count == 8 && first.windowFull)
        // The controller widens the window: the next round fills it, and the queue runs dry
        // first, so the window did not hold anything back.
        planner.window = 32
        let second = planner.plan(now: start, pool: &pool, unflushed: 0, inWriter: 0)
        #expect(second.sends.count == 12 && !second.windowFull)
        // Every connection down: records wait, but not for the window.
        var down = self.pool(sessions: 2, maxInFlight: 256, up: 0)
        planner.enqueue(20)
        #expect(!planner.plan(now: start, pool: &down, unflushed: 0, inWriter: 0).windowFull)
        // A connection's own ceiling holds records back too.
        var narrow = self.pool(sessions: 1, maxInFlight: 1)
        planner.enqueue(21)
        #expect(planner.plan(now: start, pool: &narrow, unflushed: 0, inWriter: 0).windowFull)
    }

    /// The writer's backpressure is part of the one budget: while it is behind nothing is sent
    /// and nothing read ahead; once it catches up, the window decides again.
    @Test func aWriterThatIsBehindHoldsBackReadingAndSending() {
        var planner = DispatchPlanner(action: .tokenize, window: 64, rate: nil, burst: nil, adaptiveRate: true, now: start)
        var pool = pool(sessions: 2, maxInFlight: 64)
        for seq in 0..<10 { planner.enqueue(seq) }
        #expect(planner.readAhead(perConnection: 8, writerBusy: true) == 0)
        #expect(planner.readAhead(perConnection: 8, writerBusy: false) == 16)
        #expect(planner.plan(now: start, pool: &pool, unflushed: 0, inWriter: 0, writerBusy: true).sends.isEmpty)
        #expect(planner.plan(now: start, pool: &pool, unflushed: 0, inWriter: 0, writerBusy: false).sends.count == 10)
        planner.window = 400
        #expect(planner.readAhead(perConnection: 8, writerBusy: false) == 100, "a quarter of a window that grew")
    }
}
