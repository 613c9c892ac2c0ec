import NIOCore

/// Lowers the send rate when the service throttles (1429) and raises it again when it stops:
/// additive increase, multiplicative decrease. Pure state: the caller passes the time.
public struct AIMDController: Sendable, Hashable {
    /// The configured limit, which the rate never exceeds; `nil` when the job has none.
    public let ceiling: Double?
    /// The rate now in force; `nil` until the first throttling answer of an unlimited job.
    public private(set) var rate: Double?
    /// The lowest rate it has come down to.
    public private(set) var lowest: Double?
    /// Each decrease multiplies the rate by this.
    public var decrease = 0.7
    /// Answers to requests sent before a decrease are not a reason for another one this soon.
    public var holdAfterDecrease: TimeAmount = .milliseconds(250)
    /// The rate starts to recover once no throttling answer has come for this long ...
    public var quietBeforeIncrease: TimeAmount = .seconds(1)
    /// ... by this share of the rate at the first decrease, per second.
    public var increasePerSecond = 0.1
    public var floor = 1.0

    private var lastDecrease: NIODeadline?
    private var lastThrottle: NIODeadline?
    private var lastIncrease: NIODeadline?
    private var step: Double?

    public init(ceiling: Double?) {
        self.ceiling = ceiling
        self.rate = ceiling
    }

    /// A throttling answer arrived; `observedRate` is the send rate of the last moments (used
    /// when no limit was set). Returns the new rate when it changed.
    public mutating func throttled(now: NIODeadline, observedRate: Double) -> Double? {
        lastThrottle = now
        if let lastDecrease, now - lastDecrease < holdAfterDecrease { return nil }
        let current = rate ?? max(observedRate, floor)
        let lowered = max(floor, current * decrease)
        if step == nil { step = max(1, current * increasePerSecond) }
        rate = lowered
        lowest = min(lowest ?? lowered, lowered)
        lastDecrease = now
        lastIncrease = now
        return lowered
    }

    /// Called now and then: returns the raised rate once the throttling has stopped.
    public mutating func tick(now: NIODeadline) -> Double? {
        guard let current = rate, let step, let lastThrottle, now - lastThrottle >= quietBeforeIncrease else { return nil }
        let since = lastIncrease.map { Double((now - $0).nanoseconds) / 1e9 } ?? 0
        lastIncrease = now
        var raised = current + step * since
        if let ceiling { raised = min(raised, ceiling) }
        guard raised > current else { return nil }
        rate = raised
        return raised
    }
}
