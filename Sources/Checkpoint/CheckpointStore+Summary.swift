import Foundation

extension CheckpointStore {
    /// Reads the summary of the checkpoint at `path` through a read-only connection of its own
    /// (it works while a job is writing).
    public static func summary(path: String) throws -> CheckpointSummary {
        guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError("no checkpoint at \(path)") }
        let database = try SQLiteDatabase(path: path, mode: .readOnly)
        let job = try database.statement("SELECT identity, complete FROM job WHERE id = 1")
        guard try job.step(), let text = job.text(0) else { throw CheckpointError("\(path) is not a batch-tokenize checkpoint") }
        let identity = try JobIdentity.decoded(text)
        let complete = job.int(1) != 0
        let point = try readCommitPoint(database)
        var summary = CheckpointSummary(
            identity: identity, commitPoint: point, recordsCommitted: (point?.seq ?? -1) + 1, resultsStored: 0, done: 0,
            rejectedByErrorCode: [:], outcomeUnknown: 0, firstUpdate: nil, lastUpdate: nil, complete: complete
        )
        let counts = try database.statement("SELECT status, error_code, COUNT(*), MIN(updated_at), MAX(updated_at) FROM result GROUP BY status, error_code")
        var first = Double.infinity
        var last = -Double.infinity
        while try counts.step() {
            let count = counts.int(2)
            summary.resultsStored += count
            switch RecordResult.Status(rawValue: counts.int(0)) {
            case .done: summary.done += count
            case .rejected: summary.rejectedByErrorCode[counts.text(1) ?? "unknown", default: 0] += count
            case .transient: summary.transient += count
            case .outcomeUnknown, .sent, nil: summary.outcomeUnknown += count
            }
            first = min(first, counts.double(3))
            last = max(last, counts.double(4))
        }
        if summary.resultsStored > 0 {
            summary.firstUpdate = Date(timeIntervalSince1970: first)
            summary.lastUpdate = Date(timeIntervalSince1970: last)
        }
        return summary
    }
}
