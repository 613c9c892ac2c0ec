import NIOCore

/// The job-level bound of `--retry-for`: when no request has had a final answer (a token, a
/// reject) for that long while the service kept refusing (transient answers), the job stops,
/// commits what is finished and exits as interrupted, naming the refusals. Each record's own
/// budget starts at its own first failure, so against a service that refuses everything a large
/// job would otherwise take hours to give up (its records' budgets end one after another, at a
/// send rate pushed down to one a second). Pure: the time is passed in.
struct ProgressWatchdog {
    let budget: Duration
    private(set) var lastProgress: NIODeadline
    /// Transient answers since the last final one, by what they were (`8001`, `1429`, `lost`).
    private(set) var refusals: [String: Int] = [:]

    init(budget: Duration, now: NIODeadline) {
        self.budget = budget
        lastProgress = now
    }

    /// A final answer: the service is doing work.
    mutating func progressed(now: NIODeadline) {
        lastProgress = now
        if !refusals.isEmpty { refusals.removeAll() }
    }

    /// A transient answer (`reason`: its code, or what happened to the request).
    mutating func refused(_ reason: String) {
        refusals[reason, default: 0] += 1
    }

    /// Why the job should stop, once no final answer came for the budget while refusals did.
    func expired(now: NIODeadline) -> String? {
        guard !refusals.isEmpty, (now - lastProgress).nanoseconds >= budget.nanoseconds else { return nil }
        let seconds = Double(budget.nanoseconds) / 1e9
        let answers = refusals.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
            .map { "\($0.key) × \($0.value)" }.joined(separator: ", ")
        return "no record succeeded for \(seconds.formatted()) s (--retry-for) while the service refused every request (\(answers)): "
            + "the job stops; what is finished is committed"
    }
}

extension Duration {
    /// The duration in nanoseconds, saturated at `Int64.max`.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (total, overflowed) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflowed ? .max : total
    }
}

extension Double {
    fileprivate func formatted() -> String {
        self == rounded() && abs(self) < 1e15 ? String(Int64(self)) : String(self)
    }
}
