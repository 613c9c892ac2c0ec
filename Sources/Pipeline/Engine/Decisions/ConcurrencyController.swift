import NIOCore

/// Chooses the window: how many requests may be in flight (with the results not yet durable)
/// over all connections. Pure state: the driver passes every answer with the time it was sent
/// and came back, says when the window held a record back, and the time.
///
/// It starts as TCP does, in slow start: while the window is full, each answer makes it one
/// larger, so it doubles every round trip, continuously (a step every sixteenth of the window is
/// published). Slow start ends, as in HyStart++ (RFC 9406), when the shortest round trip of an
/// interval rises above the shortest seen so far by an eighth of the floor (between 4 and 16 ms):
/// every request then waits in a queue somewhere; or when the service throttles. The shortest
/// round trip, not the mean: while the window grows the mean reads high (the answers of an
/// interval are those of the smaller window a round trip before), and with a long-tailed
/// latency the first answers back are the fast ones; the minimum of an interval's answers is
/// neither.
///
/// After it the rule is TCP Vegas' over the round trip that Little's law gives: in an interval,
/// the requests in flight on average divided by the answers per second is the mean round trip
/// (the requests in flight integrated over the interval, divided by its answers), with no bias
/// from which answers happen to come back first. So
/// - while the window is full and the round trip stays near its floor, more in flight buys
///   more throughput: the window grows by a sixteenth;
/// - when the round trip climbs well above its floor (requests queue at the service or on the
///   way), the window shrinks in proportion, back towards where the queue was short;
/// - when the service throttles (a share of the answers are congestion: 8001, 1429 and the like,
///   not timeouts; see ``AnswerClassifier``), the window shrinks by the share it refused, and does
///   not grow again while any request of an interval is throttled.
///
/// The first interval starts when the first window is out (the window first holds a record
/// back); its mean round trip is the first floor. After a change of Vegas' the answers do not
/// count until the new window has settled (two round trips after a step up, one after a cut);
/// then an interval collects answers over at least a round trip (half of one in slow start), and
/// at least its window's worth (between 64 and 256). The floor is the lowest smoothed round trip
/// of the run (smoothed, since the minimum of noisy estimates would sit below the true floor and
/// make every interval look queued).
public struct ConcurrencyController: Sendable {
    /// Why the window last changed.
    public enum Reason: String, Sendable, Hashable, CaseIterable {
        /// Not changed since the start.
        case start
        /// The window was full and the round trip near its floor: more in flight buys throughput.
        case growing = "growing"
        /// The round trip climbed above its floor: requests queue somewhere.
        case latency = "latency"
        /// The service throttled a share of the requests.
        case throttled = "throttled"
        /// `--fixed-concurrency`: the window never changes.
        case fixed = "fixed"

        /// For the progress line and the report.
        public var description: String {
            switch self {
            case .start: "start"
            case .growing: "growing: the window was full at the latency floor"
            case .latency: "latency rose above its floor"
            case .throttled: "the service throttled"
            case .fixed: "fixed (--fixed-concurrency)"
            }
        }
    }

    public struct Settings: Sendable, Hashable {
        /// The window at the start.
        public var start: Int
        /// The window never goes above this ...
        public var ceiling: Int
        /// ... nor below this.
        public var minimum: Int
        /// The window never changes.
        public var fixed = false
        /// Slow start ends when an interval's shortest round trip exceeds the shortest so far by
        /// this share of the floor, within ``slowStartExitAtLeast`` and ``slowStartExitAtMost``
        /// (HyStart++'s eighth, 4 and 16 ms).
        public var slowStartExitShare = 0.125
        public var slowStartExitAtLeast: TimeAmount = .milliseconds(4)
        public var slowStartExitAtMost: TimeAmount = .milliseconds(16)
        /// The round trip may exceed its floor by this share plus ``growSlack`` and the window
        /// still grows ...
        public var growTolerance = 0.25
        public var growSlack: TimeAmount = .milliseconds(2)
        /// ... and beyond this share plus ``shrinkSlack`` it shrinks. (The slack keeps a loopback
        /// run, whose round trip is a millisecond of the client's own batching, from reading its
        /// own busy moments as a queue.)
        public var shrinkTolerance = 0.5
        public var shrinkSlack: TimeAmount = .milliseconds(5)
        /// A share of throttled answers above this in an interval shrinks the window.
        public var throttleShare = 0.05
        /// Answers needed in an interval: its window, within these bounds.
        public var samplesAtLeast = 64
        public var samplesAtMost = 256
        /// An interval lasts at least a round trip, and at least this.
        public var shortestInterval: TimeAmount = .milliseconds(10)
        /// No answer for four round trips and this: the interval starts over.
        public var pause: TimeAmount = .milliseconds(100)
        /// The weight of an interval's round trip in the smoothed one that the floor is taken from.
        public var smoothing = 0.5

        public init(start: Int, ceiling: Int, minimum: Int, fixed: Bool = false) {
            let start = max(1, start)
            self.start = start
            self.ceiling = max(start, ceiling)
            self.minimum = max(1, min(minimum, start))
            self.fixed = fixed
        }
    }

    public let settings: Settings
    /// Requests (and results not yet durable) that may be out at once.
    public private(set) var window: Int
    public private(set) var reason: Reason
    /// When the window last changed.
    public private(set) var changedAt: NIODeadline
    /// Still growing by one for each answer (doubling every round trip).
    public private(set) var slowStart = true
    /// The lowest smoothed round trip of the run (nanoseconds); `nil` before the first interval.
    public private(set) var floor: Int64?
    /// The last interval's round trip (nanoseconds): its mean by Little's law.
    public private(set) var lastRoundTrip: Int64?
    /// Changes of the window, by reason.
    public private(set) var changes: [Reason: Int] = [:]
    /// The largest window of the run.
    public private(set) var peak: Int

    private var smoothed: Double?
    /// Slow start's growth not yet published (a step is a sixteenth of the window).
    private var growth = 0
    /// The window held a record back at the last dispatch (it was full, and is refilled as its
    /// answers come back): an answer may grow it.
    private var full = false
    /// The shortest round trip of the slow-start intervals so far, and of the one being collected.
    private var shortest: Int64?
    private var intervalShortest = Int64.max
    /// Answers before this time do not count: the last change is still settling.
    private var settledAt: NIODeadline
    /// The interval being collected: its first answer's time, the last answer's, its answers,
    /// the requests in flight integrated over its time (nanoseconds × requests), the sum of the
    /// answers' round trips, the throttled ones.
    private var intervalStart: NIODeadline?
    private var lastAnswerAt: NIODeadline
    private var answers = 0
    private var inFlightTime = 0.0
    private var roundTripSum: Int64 = 0
    private var throttledInInterval = 0
    private var limitedInInterval = false

    public init(settings: Settings, now: NIODeadline) {
        self.settings = settings
        window = settings.start
        peak = settings.start
        reason = settings.fixed ? .fixed : .start
        changedAt = now
        settledAt = now
        lastAnswerAt = now
    }

    /// An answer (or failure) came back at `now` after `roundTrip` nanoseconds, with `inFlight`
    /// requests out (this one included); `congestion`: a throttling answer. Returns `true` when
    /// the window changed.
    @inline(__always)
    public mutating func answered(roundTrip: Int64, inFlight: Int, now: NIODeadline, congestion: Bool) -> Bool {
        guard !settings.fixed, now >= settledAt else { return false }
        // Slow start: one more for each answer while the window is full (it held a record back at
        // the last dispatch; a read burst's answers all count, as TCP counts every ACK while
        // the congestion window limits).
        var grew = false
        if slowStart, full, !congestion, window < settings.ceiling {
            growth += 1
            if growth >= max(1, window / 16) { grew = publishGrowth(now: now) }
        }
        // A silence of several round trips is a pause (no input, a reconnect) or a stall that the
        // pool's timeouts deal with, not a queue: the interval starts over after it.
        let silence = (now - lastAnswerAt).nanoseconds
        let typical = lastRoundTrip ?? (answers > 0 ? roundTripSum / Int64(answers) : nil)
        if let typical, silence > 4 * typical + settings.pause.nanoseconds { intervalStart = nil }
        guard let intervalStart else {
            // The first answer opens the interval; the answers per second are counted from it.
            openInterval(at: now)
            return grew
        }
        answers += 1
        // Those in flight now were out since the last answer (a step function sampled at its
        // right end): a pause with one request out weighs one request, not the window.
        inFlightTime += Double(max(1, inFlight)) * Double((now - lastAnswerAt).nanoseconds)
        lastAnswerAt = now
        roundTripSum &+= max(0, roundTrip)
        if congestion { throttledInInterval += 1 } else { intervalShortest = min(intervalShortest, max(0, roundTrip)) }
        let elapsed = (now - intervalStart).nanoseconds
        guard answers >= min(settings.samplesAtMost, max(settings.samplesAtLeast, window)),
            // Half a round trip in slow start, a round trip after it.
            elapsed >= max(settings.shortestInterval.nanoseconds, (lastRoundTrip ?? 0) / (slowStart ? 2 : 1))
        else { return grew }
        return evaluate(now: now) || grew
    }

    /// The window held back a record that was ready to go (it was full) at `now`. The first
    /// time, before any interval was measured, the first window is out: the first interval
    /// starts here, so that the first answers already count (it would otherwise open with the
    /// first answer and measure the second window: a round trip later).
    @inline(__always)
    public mutating func heldBack(now: NIODeadline) {
        if floor == nil, intervalStart == nil, !settings.fixed, now >= settledAt { openInterval(at: now) }
        limitedInInterval = true
        full = true
    }

    /// A dispatch sent everything that was ready without filling the window: it is not what
    /// limits, and answers do not grow it until it holds a record back again.
    @inline(__always)
    public mutating func notHeldBack() {
        full = false
    }

    private mutating func openInterval(at now: NIODeadline) {
        intervalStart = now
        lastAnswerAt = now
        answers = 0
        inFlightTime = 0
        roundTripSum = 0
        throttledInInterval = 0
        limitedInInterval = false
        intervalShortest = .max
    }

    /// Publishes slow start's growth as a step of the window.
    private mutating func publishGrowth(now: NIODeadline) -> Bool {
        let step = growth
        growth = 0
        return change(to: window + step, .growing, settling: 0, now: now)
    }

    /// The interval's verdict.
    private mutating func evaluate(now: NIODeadline) -> Bool {
        let count = Double(answers)
        let share = Double(throttledInInterval) / count
        let limited = limitedInInterval
        let throttled = throttledInInterval
        let intervalShortest = intervalShortest
        // Little's law: requests in flight on average (∫ in flight dt ÷ elapsed) = answers per
        // second (count ÷ elapsed) × mean round trip.
        // (At most a day: a clock or a count out of range is an error to hold on, never a trap.)
        let roundTrip = min(inFlightTime / count, 86_400e9)
        intervalStart = nil
        if share > settings.throttleShare {
            // Throttled answers come back at once: they say nothing of the round trip.
            endSlowStart()
            let meanRoundTrip = lastRoundTrip ?? Int64(roundTripSum / Int64(answers))
            return change(to: Int(Double(window) * (1 - share) * 0.9), .throttled, settling: meanRoundTrip, now: now)
        }
        if slowStart, let floor {
            // While the window grows the mean reads high (by up to 1/ln 2 for a fixed latency):
            // the shortest round trip says whether requests queue; the mean only when it is far
            // beyond what growth explains.
            let rise = min(max(Double(floor) * settings.slowStartExitShare, Double(settings.slowStartExitAtLeast.nanoseconds)),
                Double(settings.slowStartExitAtMost.nanoseconds))
            let queued = shortest.map { intervalShortest != .max && Double(intervalShortest) > Double($0) + rise } ?? false
            if queued || roundTrip > 2 * Double(floor) + Double(settings.shrinkSlack.nanoseconds) {
                // Queued: Vegas takes over once the last of the growth has settled, and cuts the
                // window back if the queue stands.
                endSlowStart()
                settledAt = now + .nanoseconds(floor)
                return false
            }
            if intervalShortest != .max { shortest = min(shortest ?? intervalShortest, intervalShortest) }
            return false
        }
        lastRoundTrip = Int64(roundTrip)
        smoothed = smoothed.map { $0 + settings.smoothing * (roundTrip - $0) } ?? roundTrip
        floor = min(floor ?? Int64(smoothed!), Int64(smoothed!))
        if slowStart {
            // The first interval: the window was the first one (and grew by its answers only at
            // its end): its mean round trip is the floor.
            if intervalShortest != .max { shortest = intervalShortest }
            return false
        }
        let base = Double(floor!)
        let growBelow = base * (1 + settings.growTolerance) + Double(settings.growSlack.nanoseconds)
        if roundTrip > base * (1 + settings.shrinkTolerance) + Double(settings.shrinkSlack.nanoseconds) {
            return change(to: Int(Double(window) * max(0.5, growBelow / roundTrip)), .latency, settling: lastRoundTrip!, now: now)
        }
        if limited, throttled == 0, roundTrip <= growBelow {
            // The next step two round trips after this one, so that a small step is measured
            // once it has settled.
            return change(to: window + max(1, window / 16), .growing, settling: 2 * lastRoundTrip!, now: now)
        }
        // Hold: the next interval starts with the next answer.
        return false
    }

    /// Slow start is over; what it grew and had not yet published is dropped.
    private mutating func endSlowStart() {
        slowStart = false
        growth = 0
    }

    private mutating func change(to proposed: Int, _ why: Reason, settling: Int64, now: NIODeadline) -> Bool {
        let next = min(settings.ceiling, max(settings.minimum, proposed))
        guard next != window else { return false }
        settledAt = now + .nanoseconds(settling)
        window = next
        peak = max(peak, next)
        reason = why
        changedAt = now
        changes[why, default: 0] += 1
        return true
    }
}
