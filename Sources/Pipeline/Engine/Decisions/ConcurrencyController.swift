import NIOCore

/// Chooses the window: how many requests may be in flight (with the results not yet durable)
/// over all connections. Pure state: the driver passes every answer with the time it was sent
/// and came back, says when the window held a record back, and the time.
///
/// The rule is TCP Vegas' over the round trip that Little's law gives: in an interval, the
/// requests in flight on average divided by the answers per second is the mean round trip (the
/// requests in flight integrated over the interval, divided by its answers), with
/// no bias from which answers happen to come back first (the median of the answers that arrive
/// in an interval is the median of the fast ones: after a start or a change the slow ones are
/// still out, and with a long-tailed latency that reads as half the true round trip). So
/// - while the window is full and the round trip stays near its floor, more in flight buys
///   more throughput: the window doubles every interval at first (slow start), then grows by a
///   sixteenth. With ``Settings/slowStartFactor`` above 2, a step is that many times instead
///   when the last step paid in full (the answers per second grew with the window); the engine
///   keeps 2: a fourfold step from just below a service's knee or rate limit lands far past it;
/// - when the round trip climbs well above its floor (requests queue at the service or on the
///   way), the window shrinks in proportion, back towards where the queue was short;
/// - when the service throttles (a share of the answers are transient: 8001, 1429, timeouts,
///   lost connections; issue 7's congestion signals), the window shrinks by the share it
///   refused, and does not grow again while any request of an interval is throttled.
///
/// The first interval starts when the first window is out (the window first holds a record
/// back); after a change the answers do not count until the new window has settled (a round trip; two
/// after a small step up, so that the answers of the new requests, still ramping up after one,
/// do not hide it);
/// then an interval collects answers over at least a round trip (half of one in slow start), and
/// at least its window's worth (between 64 and 256). The floor is the lowest smoothed round trip of the run (smoothed, since
/// the minimum of noisy estimates would sit below the true floor and make every interval look
/// queued).
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
        /// How many times larger a step of slow start makes the window when the last step paid in
        /// full (at least 2; others double).
        public var slowStartFactor = 2
        /// The last step paid in full when the answers per second grew by at least this share of
        /// the window's growth.
        public var paceShare = 0.9
        /// Answers an interval of slow start needs, at least (its steps are large and a round trip
        /// long: a window's worth, up to ``samplesAtMost``, when `nil`).
        public var slowStartSamples: Int?
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
    /// Still doubling every interval.
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
    /// The window and the answers per second (per nanosecond) of the last slow-start interval
    /// that grew the window: whether the next step paid in full.
    private var lastStep: (window: Int, rate: Double)?
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
    /// requests out (this one included); `congestion`: a throttling or transient answer. Returns
    /// `true` when the window changed.
    @inline(__always)
    public mutating func answered(roundTrip: Int64, inFlight: Int, now: NIODeadline, congestion: Bool) -> Bool {
        guard !settings.fixed, now >= settledAt else { return false }
        // A silence of several round trips is a pause (no input, a reconnect) or a stall that the
        // pool's timeouts deal with, not a queue: the interval starts over after it.
        let silence = (now - lastAnswerAt).nanoseconds
        let typical = lastRoundTrip ?? (answers > 0 ? roundTripSum / Int64(answers) : nil)
        if let typical, silence > 4 * typical + settings.pause.nanoseconds { intervalStart = nil }
        guard let intervalStart else {
            // The first answer opens the interval; the answers per second are counted from it.
            self.intervalStart = now
            lastAnswerAt = now
            inFlightTime = 0
            answers = 0
            roundTripSum = 0
            throttledInInterval = 0
            limitedInInterval = false
            return false
        }
        answers += 1
        // Those in flight now were out since the last answer (a step function sampled at its
        // right end): a pause with one request out weighs one request, not the window.
        inFlightTime += Double(max(1, inFlight)) * Double((now - lastAnswerAt).nanoseconds)
        lastAnswerAt = now
        roundTripSum &+= max(0, roundTrip)
        if congestion { throttledInInterval += 1 }
        let elapsed = (now - intervalStart).nanoseconds
        let needed = slowStart ? settings.slowStartSamples ?? min(settings.samplesAtMost, max(settings.samplesAtLeast, window))
            : min(settings.samplesAtMost, max(settings.samplesAtLeast, window))
        guard answers >= needed,
            // Half a round trip in slow start (its steps are large), a round trip after it.
            elapsed >= max(settings.shortestInterval.nanoseconds, (lastRoundTrip ?? 0) / (slowStart ? 2 : 1))
        else { return false }
        return evaluate(now: now)
    }

    /// The window held back a record that was ready to go (it was full) at `now`. The first
    /// time, before any interval was measured, the first window is out: the first interval
    /// starts here, so that the first answers already count (it would otherwise open with the
    /// first answer and measure the second window: a round trip later).
    @inline(__always)
    public mutating func heldBack(now: NIODeadline) {
        if floor == nil, intervalStart == nil, !settings.fixed, now >= settledAt {
            intervalStart = now
            lastAnswerAt = now
            answers = 0
            inFlightTime = 0
            roundTripSum = 0
            throttledInInterval = 0
        }
        limitedInInterval = true
    }

    /// The interval's verdict.
    private mutating func evaluate(now: NIODeadline) -> Bool {
        let count = Double(answers)
        let share = Double(throttledInInterval) / count
        let throttled = throttledInInterval
        let limited = limitedInInterval
        // Little's law: requests in flight on average (∫ in flight dt ÷ elapsed) = answers per
        // second (count ÷ elapsed) × mean round trip.
        // (At most a day: a clock or a count out of range is an error to hold on, never a trap.)
        let roundTrip = min(inFlightTime / count, 86_400e9)
        // The first interval's answers came as one burst (the first window went out at once):
        // its rate is nobody's measure.
        let rate = floor == nil ? nil : count / Double(max(1, (now - intervalStart!).nanoseconds))
        intervalStart = nil
        if share > settings.throttleShare {
            // Throttled answers come back at once: they say nothing of the round trip.
            slowStart = false
            let meanRoundTrip = lastRoundTrip ?? Int64(roundTripSum / Int64(answers))
            return change(to: Int(Double(window) * (1 - share) * 0.9), .throttled, settling: meanRoundTrip, now: now)
        }
        lastRoundTrip = Int64(roundTrip)
        smoothed = smoothed.map { $0 + settings.smoothing * (roundTrip - $0) } ?? roundTrip
        floor = min(floor ?? Int64(smoothed!), Int64(smoothed!))
        let base = Double(floor!)
        let growBelow = base * (1 + settings.growTolerance) + Double(settings.growSlack.nanoseconds)
        if roundTrip > base * (1 + settings.shrinkTolerance) + Double(settings.shrinkSlack.nanoseconds) {
            slowStart = false
            return change(to: Int(Double(window) * max(0.5, growBelow / roundTrip)), .latency, settling: lastRoundTrip!, now: now)
        }
        if limited, throttled == 0, roundTrip <= growBelow {
            // In slow start the next step comes a round trip after this one (its estimate reads a
            // little high while the new requests' answers ramp up; the tolerance allows for it);
            // after it, two, so that a small step is measured once it has settled.
            guard slowStart else { return change(to: window + max(1, window / 16), .growing, settling: 2 * lastRoundTrip!, now: now) }
            var factor = 2
            if let rate, let last = lastStep, window > last.window, rate >= settings.paceShare * last.rate * Double(window) / Double(last.window) {
                factor = max(2, settings.slowStartFactor)
            }
            lastStep = rate.map { (window, $0) }
            return change(to: window * factor, .growing, settling: lastRoundTrip!, now: now)
        }
        // Hold: the next interval starts with the next answer.
        return false
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
