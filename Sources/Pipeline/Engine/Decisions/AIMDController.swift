import NIOCore

/// Lowers the send rate while the service answers a rising share of requests with a transient
/// failure, whatever its code (8001, our simulator's 1429, timeouts, lost connections), and raises
/// it again when they stop: additive increase, multiplicative decrease. Pure state: the caller
/// passes the time and every answer.
///
/// One transient answer among many is noise (8001 is also the service's "internal error"); a
/// share of them is the service pushing back. The share is an exponentially weighted average
/// over about the last 100 answers; after a decrease, another needs fresh evidence: at least
/// ``minimumAnswers`` answers since, more than ``shareThreshold`` of them transient (else a slow
/// job, whose last 100 answers span many seconds, would keep cutting on old news).
public struct AIMDController: Sendable, Hashable {
    /// The configured limit, which the rate never exceeds; `nil` when the job has none.
    public let ceiling: Double?
    /// The rate now in force; `nil` until the first decrease of an unlimited job.
    public private(set) var rate: Double?
    /// The lowest rate it has come down to.
    public private(set) var lowest: Double?
    /// The share of transient answers among recent answers (0...1).
    public private(set) var transientShare = 0.0
    /// The weight of one answer in the share.
    public var shareWeight = 0.01
    /// The share above which the rate comes down.
    public var shareThreshold = 0.05
    /// Answers needed since the last decrease before the next one.
    public var minimumAnswers = 10
    /// Each decrease multiplies the rate by this (gentle, so that the rate stays close to what
    /// the service allows), or goes to the rate of the answers not refused since the last one
    /// when that is lower and most were refused (quick, far above the limit).
    public var decrease = 0.9
    /// Answers since the last decrease, more than half of them refused, before the rate goes
    /// straight to what the service took.
    public var evidence = 100
    /// Answers to requests sent before a decrease are not a reason for another one this soon.
    public var holdAfterDecrease: TimeAmount = .milliseconds(250)
    /// The rate starts to recover once the share has stayed low for this long ...
    public var quietBeforeIncrease: TimeAmount = .seconds(1)
    /// ... by this share of the ceiling (without one, of the rate after the last decrease), per
    /// second.
    public var increasePerSecond = 0.05
    public var floor = 1.0

    private var firstAnswer: NIODeadline?
    private var lastDecrease: NIODeadline?
    private var lastPushback: NIODeadline?
    private var lastIncrease: NIODeadline?
    private var step: Double?
    private var answersSinceDecrease = 0
    private var transientSinceDecrease = 0

    public init(ceiling: Double?) {
        self.ceiling = ceiling
        self.rate = ceiling
    }

    /// An answer arrived (`congestion`: a throttling or transient failure). `observedRate` is the
    /// send rate of the last moments (used when no limit was set). Returns the new rate when it
    /// came down.
    public mutating func answered(congestion: Bool, now: NIODeadline, observedRate: Double) -> Double? {
        if firstAnswer == nil { firstAnswer = now }
        transientShare += shareWeight * ((congestion ? 1 : 0) - transientShare)
        answersSinceDecrease += 1
        if congestion { transientSinceDecrease += 1 }
        guard congestion, transientShare > shareThreshold else { return nil }
        lastPushback = now
        // A service that refused most of at least ``evidence`` answers over at least 100 ms since
        // the last decrease (since the first answer, before one) is far below the rate, and 0.9
        // per 250 ms would take seconds of refusals to get there (18,000/s against a limit of
        // 1,000/s: 27 steps, 3 requests sent per record). So the rate comes down to the answers
        // per second it did not refuse, without waiting out the hold: what the service took is
        // its limit, whichever requests it answered.
        let elapsed = Double((now - (lastDecrease ?? firstAnswer ?? now)).nanoseconds) / 1e9
        let taken =
            elapsed >= 0.1 && answersSinceDecrease >= evidence && transientSinceDecrease * 2 > answersSinceDecrease
            ? Double(answersSinceDecrease - transientSinceDecrease) / elapsed : nil
        if let lastDecrease, taken == nil {
            guard now - lastDecrease >= holdAfterDecrease, answersSinceDecrease >= minimumAnswers,
                Double(transientSinceDecrease) > shareThreshold * Double(answersSinceDecrease)
            else { return nil }
        }
        answersSinceDecrease = 0
        transientSinceDecrease = 0
        let current = rate ?? max(observedRate, floor)
        let lowered = max(floor, min(current * decrease, taken ?? .infinity))
        // 5% of --rate per second; without one, 5% of the rate it came down to (5% of a first
        // burst's rate, far above what the service takes, made a sawtooth of refusals).
        step = max(1, (ceiling ?? lowered) * increasePerSecond)
        rate = lowered
        lowest = min(lowest ?? lowered, lowered)
        lastDecrease = now
        lastIncrease = now
        return lowered
    }

    /// Called now and then: returns the raised rate once the push-back has stopped.
    public mutating func tick(now: NIODeadline) -> Double? {
        guard let current = rate, let step, let lastPushback, now - lastPushback >= quietBeforeIncrease else { return nil }
        let since = lastIncrease.map { Double((now - $0).nanoseconds) / 1e9 } ?? 0
        lastIncrease = now
        var raised = current + step * since
        if let ceiling { raised = min(raised, ceiling) }
        guard raised > current else { return nil }
        rate = raised
        return raised
    }
}
