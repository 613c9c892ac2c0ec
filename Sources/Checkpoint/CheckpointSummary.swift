import Foundation

/// What a checkpoint holds, for `batch-tokenize status`.
public struct CheckpointSummary: Sendable, Hashable, Codable {
    public var identity: JobIdentity
    public var commitPoint: CommitPoint?
    /// Where the files ended when the last batch of results was stored, if past the commit
    /// point: the next run takes up from there (see ``CheckpointStore/writtenPoint``).
    public var writtenPoint: CommitPoint?
    /// Records whose output is durably written (commit point seq + 1).
    public var recordsCommitted: Int
    public var resultsStored: Int
    public var done: Int
    public var rejectedByErrorCode: [String: Int]
    public var outcomeUnknown: Int
    /// Records that failed transiently when their retry budget ran out: sent again by the next run.
    public var transient = 0
    public var firstUpdate: Date?
    public var lastUpdate: Date?
    public var complete: Bool
    /// The files the job created (`output`, `rejects`): which file each was, and where.
    public var files: [String: RecordedFile]?

    public var rejected: Int { rejectedByErrorCode.values.reduce(0, +) }

    public var text: String {
        let formatter = ISO8601DateFormatter()
        var lines = [
            "job: \(identity.action) with template \(identity.templateRef) on \(identity.endpoint)",
            "input: \(identity.inputPath) (\(identity.input.size) bytes)",
            "records committed: \(recordsCommitted)",
            "results stored: \(resultsStored) (done \(done), rejected \(rejected), outcome unknown \(outcomeUnknown), transient \(transient))",
        ]
        for (code, count) in rejectedByErrorCode.sorted(by: { $0.key < $1.key }) {
            lines.append("  rejected \(code): \(count)")
        }
        if transient > 0 { lines.append("  transient (sent again by the next run): \(transient)") }
        lines.append("first update: \(firstUpdate.map(formatter.string(from:)) ?? "none")")
        lines.append("last update: \(lastUpdate.map(formatter.string(from:)) ?? "none")")
        lines.append(complete ? "complete: yes" : "complete: no (run the same command again to resume)")
        return lines.joined(separator: "\n")
    }
}
