import NIOCore

/// Chooses the window: how many requests may be in flight (with the results not yet durable)
/// over all connections. Pure state: the driver passes every answer with the time it was sent
/// and came back, says when the window held a record back, and the time.
///
/// The rule is TCP Vegas' over round trips measured per request: queueing at the service (or
/// anywhere on the way) shows up as round-trip time above its floor, so
/// - while the window is full and the round trip stays near its floor, more in flight buys
///   more throughput (Little's law): the window doubles every interval at first (slow start),
///   then grows by a sixteenth;
/// - when the round trip climbs well above its floor, the window shrinks in proportion, back
///   towards where the queue was short;
/// - when the service throttles (a share of the answers are transient: 8001, 1429, timeouts,
///   lost connections; issue 7's congestion signals), the window shrinks by the share it
///   refused, and does not grow again while any request of an interval is throttled.
///
/// After a change, a round trip passes before answers count (they show the old window); then an
/// interval collects the answers that come back over at least a round trip, and at least its
/// window's worth (between 64 and 256). Its round trip is their median; the floor is the lowest
/// smoothed median of the run (a smoothed one, since the minimum of noisy medians would sit
/// below the true floor and make every interval look queued).
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
        /// The weight of an interval's median in the smoothed one that the floor is taken from.
        public var smoothing = 0.3

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
    /// The last interval's median round trip (nanoseconds).
    public private(set) var lastRoundTrip: Int64?
    /// Changes of the window, by reason.
    public private(set) var changes: [Reason: Int] = [:]
    /// The largest window of the run.
    public private(set) var peak: Int

    private var smoothed: Double?
    private var samples: [Int64] = []
    private var throttledInInterval = 0
    private var limitedInInterval = false
    /// When the current interval's answers began to count; `nil` while a change settles.
    private var collectingSince: NIODeadline?

    public init(settings: Settings, now: NIODeadline) {
        self.settings = settings
        window = settings.start
        peak = settings.start
        reason = settings.fixed ? .fixed : .start
        changedAt = now
        samples.reserveCapacity(settings.samplesAtMost)
    }

    /// An answer (or failure) came back at `now` after `roundTrip` nanoseconds; `congestion`:
    /// a throttling or transient answer. Returns `true` when the window changed.
    @inline(__always)
    public mutating func answered(roundTrip: Int64, now: NIODeadline, congestion: Bool) -> Bool {
        guard !settings.fixed else { return false }
        if collectingSince == nil {
            // A round trip after a change passes before its effect shows in the answers.
            guard (now - changedAt).nanoseconds >= lastRoundTrip ?? 0 else { return false }
            collectingSince = now
        }
        samples.append(roundTrip)
        if congestion { throttledInInterval += 1 }
        guard samples.count >= min(settings.samplesAtMost, max(settings.samplesAtLeast, window)),
            (now - collectingSince!).nanoseconds >= lastRoundTrip ?? 0
        else { return false }
        return evaluate(now: now)
    }

    /// The window held back a record that was ready to go (it was full).
    @inline(__always)
    public mutating func heldBack() {
        limitedInInterval = true
    }

    /// The interval's verdict. Its answers are taken by the time they came back, not by the
    /// time they were sent: the first answers to requests sent after a change are the fastest
    /// of them, and their median would be far below the round trip.
    private mutating func evaluate(now: NIODeadline) -> Bool {
        samples.sort()
        let median = samples[samples.count / 2]
        let share = Double(throttledInInterval) / Double(samples.count)
        let throttled = throttledInInterval
        let limited = limitedInInterval
        samples.removeAll(keepingCapacity: true)
        throttledInInterval = 0
        limitedInInterval = false
        collectingSince = nil
        if share > settings.throttleShare {
            // Throttled answers come back at once: they say nothing of the round trip.
            slowStart = false
            return change(to: Int(Double(window) * (1 - share) * 0.9), .throttled, now: now)
        }
        lastRoundTrip = median
        smoothed = smoothed.map { $0 + settings.smoothing * (Double(median) - $0) } ?? Double(median)
        floor = min(floor ?? Int64(smoothed!), Int64(smoothed!))
        let base = Double(floor!)
        let roundTrip = Double(median)
        let growBelow = base * (1 + settings.growTolerance) + Double(settings.growSlack.nanoseconds)
        if roundTrip > base * (1 + settings.shrinkTolerance) + Double(settings.shrinkSlack.nanoseconds) {
            slowStart = false
            return change(to: Int(Double(window) * max(0.5, growBelow / roundTrip)), .latency, now: now)
        }
        if limited, throttled == 0, roundTrip <= growBelow {
            return change(to: slowStart ? window * 2 : window + max(1, window / 16), .growing, now: now)
        }
        // Hold: the next interval starts with the next answer.
        return false
    }

    private mutating func change(to proposed: Int, _ why: Reason, now: NIODeadline) -> Bool {
        let next = min(settings.ceiling, max(settings.minimum, proposed))
        guard next != window else { return false }
        window = next
        peak = max(peak, next)
        reason = why
        changedAt = now
        changes[why, default: 0] += 1
        return true
    }
}
