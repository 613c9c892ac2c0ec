import Foundation

extension CheckpointStore {
    /// Reads the summary of the checkpoint at `path` through a read-only connection of its own
    /// (it works while a job is writing): the tally of the committed records, and the stored
    /// results after the commit point (the latest of each seq).
    public static func summary(path: String) throws -> CheckpointSummary {
        let database = try openReadOnly(path: path)
        let job = try database.statement("SELECT identity, complete FROM job WHERE id = 1")
        guard try job.step(), let text = job.text(0) else { throw CheckpointError(.notACheckpoint, "\(path) is not a batch-tokenize checkpoint") }
        let identity = try JobIdentity.decoded(text)
        let complete = job.int(1) != 0
        let point = try readCommitPoint(database)
        var summary = CheckpointSummary(
            identity: identity, commitPoint: point, recordsCommitted: (point?.seq ?? -1) + 1, resultsStored: 0, done: 0,
            rejectedByErrorCode: [:], outcomeUnknown: 0, firstUpdate: nil, lastUpdate: nil, complete: complete
        )
        summary.files = try recordedFiles(database)
        // (A checkpoint of an earlier version has no such table.)
        summary.writtenPoint = (try? readPoint(database, table: "written_point")).flatMap { $0.seq > point?.seq ?? -1 ? $0 : nil }
        func count(status: Int, errorCode: String?, _ count: Int) {
            summary.resultsStored += count
            switch RecordResult.Status(rawValue: status) {
            case .done: summary.done += count
            case .rejected: summary.rejectedByErrorCode[errorCode ?? "unknown", default: 0] += count
            case .transient: summary.transient += count
            case .outcomeUnknown, .sent, nil: summary.outcomeUnknown += count
            }
        }
        if try hasLegacyResults(database) {
            // Not yet moved into blocks (that happens when a run reopens it): one row per result.
            let counts = try database.statement("SELECT status, error_code, COUNT(*), MIN(updated_at), MAX(updated_at) FROM result GROUP BY status, error_code")
            var first = Double.infinity
            var last = -Double.infinity
            while try counts.step() {
                count(status: counts.int(0), errorCode: counts.text(1), counts.int(2))
                first = min(first, counts.double(3))
                last = max(last, counts.double(4))
            }
            if summary.resultsStored > 0 {
                summary.firstUpdate = Date(timeIntervalSince1970: first)
                summary.lastUpdate = Date(timeIntervalSince1970: last)
            }
            return summary
        }
        let tally = try database.statement("SELECT status, error_code, count FROM tally")
        while try tally.step() {
            let code = tally.text(1) ?? ""
            count(status: tally.int(0), errorCode: code.isEmpty ? nil : code, tally.int(2))
        }
        let after = (point?.seq ?? -1) + 1
        for result in try storedResults(in: after...Int.max, database: database).values {
            count(status: result.status.rawValue, errorCode: result.errorCode, 1)
        }
        // Committed results are deleted (unless kept as an audit trail): the job's start and its
        // latest write stand for the first and last update.
        let updates = try database.statement(
            """
            SELECT (SELECT created_at FROM job WHERE id = 1),
                   MAX(COALESCE((SELECT MAX(updated_at) FROM result_block), 0), COALESCE((SELECT updated_at FROM commit_point), 0),
                       COALESCE((SELECT updated_at FROM written_point), 0))
            """
        )
        if summary.resultsStored > 0, try updates.step(), !updates.isNull(0) {
            summary.firstUpdate = Date(timeIntervalSince1970: updates.double(0))
            summary.lastUpdate = Date(timeIntervalSince1970: updates.double(1))
        }
        return summary
    }

    /// The stored results of the checkpoint at `path` with seq in `range` (the latest of each),
    /// read through a read-only connection of its own.
    public static func storedResults(path: String, in range: ClosedRange<Int>) throws -> [Int: RecordResult] {
        let database = try openReadOnly(path: path)
        if try hasLegacyResults(database) {
            let select = try database.statement(
                "SELECT seq, status, bfid, message_id, tokens, error_code, message, attempts, NULL FROM result WHERE seq BETWEEN ? AND ?"
            )
            try select.bind(1, range.lowerBound)
            try select.bind(2, range.upperBound)
            var found: [Int: RecordResult] = [:]
            while try select.step() {
                let result = legacyResult(from: select)
                found[result.seq] = result
            }
            return found
        }
        return try storedResults(in: range, database: database)
    }

    /// The files the job created, by name (`output`, `rejects`), with where they were.
    static func recordedFiles(_ database: SQLiteDatabase) throws -> [String: RecordedFile] {
        var files: [String: RecordedFile] = [:]
        let select = try database.statement("SELECT name, device, inode FROM file")
        while try select.step() {
            guard let name = select.text(0) else { continue }
            files[name] = RecordedFile(identity: FileIdentity(device: UInt64(bitPattern: select.int64(1)), inode: UInt64(bitPattern: select.int64(2))))
        }
        // (A checkpoint of an earlier version has no such table.)
        if let paths = try? database.statement("SELECT name, path FROM file_path") {
            while try paths.step() {
                if let name = paths.text(0), files[name] != nil { files[name]?.path = paths.text(1) }
            }
        }
        return files
    }

    private static func openReadOnly(path: String) throws -> SQLiteDatabase {
        guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError(.missing, "no checkpoint at \(path)") }
        return try SQLiteDatabase(path: path, mode: .readOnly)
    }

    private static func hasLegacyResults(_ database: SQLiteDatabase) throws -> Bool {
        let select = try database.statement("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'result'")
        return try select.step()
    }
}
