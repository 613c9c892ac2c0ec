import NIOCore
import ShieldConex

/// How much is read and sent, decided in one place: which records go out now and on which
/// connection (the records ready to send in order, the window — requests in flight plus results
/// not yet durable —, each connection's share of it through the pool, the rate limit and its
/// congestion controller (``AIMDController``), the writer's backpressure, and the rule that a
/// read is durable before it leaves), and how many records are read ahead. Pure state: the time
/// is passed in.
public struct DispatchPlanner: Sendable {
    /// One round of dispatching, for the driver to carry out in this order.
    public struct Plan: Sendable, Equatable {
        /// Write the checkpoint's pending batch first (it holds a quarter of the undurable limit).
        public var flushFirst = false
        /// The records to send, each with the session chosen for it.
        public var sends: [Send] = []
        /// The records must be durable as sent before they leave (a read is never sent twice):
        /// record them as sent, flush, then send.
        public var durableBeforeSending = false
        /// The rate limit holds the rest back: plan again after this long.
        public var wakeAfter: TimeAmount?
        /// Records were ready but the window (or every connection's share of it) was full: the
        /// window's controller may grow it.
        public var windowFull = false

        public init() {}
    }

    public struct Send: Sendable, Equatable {
        public var seq: Int
        public var session: Int

        public init(seq: Int, session: Int) {
            self.seq = seq
            self.session = session
        }
    }

    /// The window: requests in flight plus results not yet durable, at most (the most a kill can
    /// cost in requests sent again). The ``ConcurrencyController`` chooses it; it changes as the
    /// controller learns the service.
    public var window: Int {
        didSet { window = max(1, window) }
    }
    public let action: JobAction
    public let adaptiveRate: Bool
    public private(set) var queue = SeqQueue(capacity: 256)
    public private(set) var limiter: RateLimiter?
    public private(set) var aimd: AIMDController
    /// The send rate of the last second or so (requests/s), for the congestion controller.
    public private(set) var observedRate = 0.0
    private var wakePending = false
    private var sentSinceTick = 0
    private var lastTick: NIODeadline

    public init(action: JobAction, window: Int, rate: Double?, burst: Double?, adaptiveRate: Bool, now: NIODeadline) {
        self.action = action
        self.window = max(1, window)
        self.adaptiveRate = adaptiveRate
        limiter = rate.map { RateLimiter(rate: $0, burst: burst) }
        aimd = AIMDController(ceiling: rate)
        lastTick = now
    }

    /// A record (or its next request) is ready to go.
    public mutating func enqueue(_ seq: Int) {
        queue.append(seq)
    }

    public var queued: Int { queue.count }

    /// How many records may wait to be sent before reading stops: a quarter of the window (to
    /// fill a window that grew), at least two connections' share; none while the writer is behind.
    public func readAhead(perConnection: Int, writerBusy: Bool) -> Int {
        writerBusy ? 0 : max(perConnection * 2, window / 4)
    }

    /// Chooses what to send now: records in order, each on the least-loaded connection with
    /// room, while the requests in flight plus the results not yet durable stay under the limit
    /// and the rate limit has a token. `unflushed` results wait in the loop's batch, `inWriter`
    /// are in the writer's hands: both are lost by a kill until the writer has stored them, so
    /// handing the batch over (``Plan/flushFirst``, once it holds a quarter of the limit) makes
    /// no room by itself; the writer's completion does.
    /// While the writer is behind (`writerBusy`: it holds as many batches as it may), nothing goes.
    public mutating func plan<Handle>(
        now: NIODeadline, pool: inout ConnectionPoolStateMachine<Handle>, unflushed: Int, inWriter: Int, writerBusy: Bool = false
    ) -> Plan {
        var plan = Plan()
        guard !writerBusy else { return plan }
        if unflushed >= max(1, window / 4) {
            plan.flushFirst = true
        }
        let undurable = unflushed + inWriter
        while !queue.isEmpty {
            guard pool.inFlight + undurable < window, let session = pool.leastLoaded() else {
                // Full, unless no connection is up at all (that is no reason to widen it).
                plan.windowFull = pool.upCount > 0
                break
            }
            if limiter != nil, let wait = limiter!.take(now: now) {
                if !wakePending {
                    wakePending = true
                    // Not sooner than 5 ms: under a rate limit a wake-up per token (every 0.5 ms at
                    // 2,000/s) costs more than it buys; the bucket keeps what accrues meanwhile.
                    plan.wakeAfter = max(wait, .milliseconds(5))
                }
                break
            }
            let seq = queue.popFirst()!
            pool.sent(on: session)
            sentSinceTick += 1
            plan.sends.append(Send(seq: seq, session: session))
        }
        plan.durableBeforeSending = !action.isSafeToRepeat && !plan.sends.isEmpty
        return plan
    }

    /// The wake-up a plan asked for has come.
    public mutating func woke() {
        wakePending = false
    }

    /// Every answer feeds the congestion controller: a rising share of transient ones (whatever
    /// their code) lowers the send rate. Returns the lowered rate when it came down.
    public mutating func answered(congestion: Bool, now: NIODeadline) -> Double? {
        guard adaptiveRate, let lowered = aimd.answered(congestion: congestion, now: now, observedRate: sendRate(now: now)) else {
            return nil
        }
        if limiter == nil {
            limiter = RateLimiter(rate: lowered)
        } else {
            limiter!.adjust(rate: lowered)
        }
        return lowered
    }

    /// The send rate for the congestion controller: the smoothed one, or before the first tick
    /// has measured it (a service that throttles from the first burst), the rate since the start.
    /// (It was 0 there, so the first decrease went to the floor of 1 request a second, and the
    /// rate then climbed back by 1/s each second.)
    private func sendRate(now: NIODeadline) -> Double {
        guard observedRate == 0 else { return observedRate }
        let seconds = Double((now - lastTick).nanoseconds) / 1e9
        return Double(sentSinceTick) / max(seconds, 0.05)
    }

    /// Called about every 250 ms: the observed rate, and the rate's recovery once push-back stops.
    public mutating func tick(now: NIODeadline) {
        let seconds = Double((now - lastTick).nanoseconds) / 1e9
        if seconds > 0 {
            // Smoothed over about a second.
            observedRate = observedRate * 0.5 + Double(sentSinceTick) / seconds * 0.5
        }
        sentSinceTick = 0
        lastTick = now
        if adaptiveRate, let raised = aimd.tick(now: now) {
            limiter?.adjust(rate: raised)
        }
    }
}
