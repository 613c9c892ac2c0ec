/// What a job did, and whether the books balance.
public struct JobSummary: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Records finished by earlier runs of a resumed job (not read again by this one).
    public var finishedBefore = 0
    /// `--since-last-run`: the key the last run ended at, and how many rows now have a key at or
    /// below it that no run read (inserted since; `nil`: not counted).
    public var sinceLastRunKey: String?
    public var insertedBelowKey: Int?
    public var recordsRead = 0
    public var done = 0
    public var passedThrough = 0
    public var rejectedByCode: [String: Int] = [:]
    /// Rejections by error code and (masked) message, e.g. `1203 Invalid value`; at most
    /// ``maximumReasons`` distinct ones, the rest counted under `other`.
    public var rejectedByReason: [String: Int] = [:]
    public var outcomeUnknown = 0
    /// Records still failing for a transient reason when their retry budget ran out (or the run
    /// stopped): in the rejects file as transient, sent again by the next run.
    public var transient = 0
    /// Records read but not finished when the run stopped early (interrupted, refused,
    /// unreachable): nothing of them is written, and the resumed run reads them again.
    public var unfinished = 0
    public var reusedFromCheckpoint = 0
    /// Records that took an earlier record's tokens (the same values: `--dedup`), not sent.
    public var deduplicated = 0
    /// A retokenize job's records whose detokenize was answered (their tokenize followed).
    public var detokenizedToRetokenize = 0
    public var requestsSent = 0
    public var retries = 0
    public var reconnects = 0
    /// Transient answers (8001, 1429, timeouts, lost connections), and the lowest send rate they
    /// brought the job down to.
    public var transientAnswers = 0
    public var lowestRate: Double?
    /// How the window of requests in flight moved.
    public var window: WindowSummary?
    public var latency: LatencySummary?
    public var seconds = 0.0

    public init() {}

    public var rejected: Int { rejectedByCode.values.reduce(0, +) }

    public static let maximumReasons = 50

    /// What the service's refusals of a detokenize mean for the operator (retokenize, detokenize).
    static let codeHints = [
        "1402": "irreversible template: its tokens cannot be detokenized, so not moved",
        "1403": "outside the old template's detokenization window (Active From / Active To): not detokenized, so not moved",
    ]

    public mutating func countRejection(code: String, message: String) {
        rejectedByCode[code, default: 0] += 1
        let reason = message.isEmpty ? code : "\(code) \(message)"
        if rejectedByReason[reason] != nil || rejectedByReason.count < Self.maximumReasons {
            rejectedByReason[reason, default: 0] += 1
        } else {
            rejectedByReason["other", default: 0] += 1
        }
    }

    /// Records per second over the run.
    public var recordsPerSecond: Double { seconds > 0 ? Double(recordsRead) / seconds : 0 }

    /// Records read = done + passed through + rejected + outcome unknown + transient + unfinished.
    public var balances: Bool { recordsRead == done + passedThrough + rejected + outcomeUnknown + transient + unfinished }

    public var description: String {
        var lines = finishedBefore > 0 ? ["records finished by earlier runs (resumed after them): \(finishedBefore)"] : []
        if let key = sinceLastRunKey {
            lines.append("since the last run: rows already done \(finishedBefore) (through key \(key)), rows new \(recordsRead)")
            if let below = insertedBelowKey, below > 0 {
                lines.append(
                    "rows inserted with keys at or below \(key) since it was passed (at least): \(below); --since-last-run never reads them. "
                        + "Tokenize them with a job of their own (in place, they are the rows with that key or below and no bfid)")
            }
        }
        lines += [
            "records read: \(recordsRead)",
            "done: \(done)",
            "passed through (nothing to tokenize): \(passedThrough)",
            "rejected: \(rejected)",
        ]
        for (code, count) in rejectedByCode.sorted(by: { $0.key < $1.key }) { lines.append("  \(code): \(count)" + (Self.codeHints[code].map { " (\($0))" } ?? "")) }
        for (reason, count) in rejectedByReason.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }) {
            lines.append("    \(count) × \(reason)")
        }
        lines.append("outcome unknown: \(outcomeUnknown)")
        if transient > 0 { lines.append("transient, will be retried (the next run sends them again): \(transient)") }
        lines.append("requests sent: \(requestsSent) (retries \(retries), reconnects \(reconnects), results reused from the checkpoint \(reusedFromCheckpoint))")
        if detokenizedToRetokenize > 0 {
            lines.append("retokenize: detokenized under the old template \(detokenizedToRetokenize) (the plaintext in memory only), each then tokenized under the new")
        }
        if deduplicated > 0 { lines.append("repeats not sent (--dedup: an earlier record's tokens and bfid, the same values): \(deduplicated)") }
        if transientAnswers > 0 {
            lines.append("transient answers (throttling, server errors, lost answers; retried): \(transientAnswers)" + (lowestRate.map { String(format: " (send rate lowered to %.0f/s at the lowest)", $0) } ?? ""))
        }
        if let latency { lines.append("latency: \(latency)") }
        if let window { lines.append(window.line) }
        lines.append(String(format: "time: %.2f s, %.0f records/s", seconds, seconds > 0 ? Double(recordsRead) / seconds : 0))
        if unfinished > 0 { lines.append("unfinished (the run stopped first; read again on resume): \(unfinished)") }
        let parts = "done \(done) + passed through \(passedThrough) + rejected \(rejected) + outcome unknown \(outcomeUnknown)"
            + (transient > 0 ? " + transient \(transient)" : "")
            + (unfinished > 0 ? " + unfinished \(unfinished)" : "")
        lines.append(balances ? "the books balance: read \(recordsRead) = \(parts)" : "THE BOOKS DO NOT BALANCE: read \(recordsRead) ≠ \(parts)")
        return lines.joined(separator: "\n")
    }
}
