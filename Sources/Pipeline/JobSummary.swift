/// What a job did, and whether the books balance.
public struct JobSummary: Sendable, Hashable, Codable, CustomStringConvertible {
    public var recordsRead = 0
    public var done = 0
    public var passedThrough = 0
    public var rejectedByCode: [String: Int] = [:]
    public var outcomeUnknown = 0
    public var reusedFromCheckpoint = 0
    public var requestsSent = 0
    public var retries = 0
    public var reconnects = 0
    /// Throttling answers (1429), and the lowest send rate they brought the job down to.
    public var throttled = 0
    public var lowestRate: Double?
    public var latency: LatencySummary?
    public var seconds = 0.0

    public init() {}

    public var rejected: Int { rejectedByCode.values.reduce(0, +) }

    /// Records read = done + passed through + rejected + outcome unknown.
    public var balances: Bool { recordsRead == done + passedThrough + rejected + outcomeUnknown }

    public var description: String {
        var lines = [
            "records read: \(recordsRead)",
            "done: \(done)",
            "passed through (nothing to tokenize): \(passedThrough)",
            "rejected: \(rejected)",
        ]
        for (code, count) in rejectedByCode.sorted(by: { $0.key < $1.key }) { lines.append("  \(code): \(count)") }
        lines.append("outcome unknown: \(outcomeUnknown)")
        lines.append("requests sent: \(requestsSent) (retries \(retries), reconnects \(reconnects), results reused from the checkpoint \(reusedFromCheckpoint))")
        if throttled > 0 {
            lines.append("throttled answers: \(throttled)" + (lowestRate.map { String(format: " (send rate lowered to %.0f/s at the lowest)", $0) } ?? ""))
        }
        if let latency { lines.append("latency: \(latency)") }
        lines.append(String(format: "time: %.2f s, %.0f records/s", seconds, seconds > 0 ? Double(recordsRead) / seconds : 0))
        lines.append(balances
            ? "the books balance: read \(recordsRead) = done \(done) + passed through \(passedThrough) + rejected \(rejected) + outcome unknown \(outcomeUnknown)"
            : "THE BOOKS DO NOT BALANCE: read \(recordsRead) ≠ done \(done) + passed through \(passedThrough) + rejected \(rejected) + outcome unknown \(outcomeUnknown)")
        return lines.joined(separator: "\n")
    }
}
