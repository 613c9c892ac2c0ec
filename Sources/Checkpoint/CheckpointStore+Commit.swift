import Foundation

extension CheckpointStore {
    // MARK: Commit point

    /// Records a commit point durably (synchronous=FULL).
    /// Call it only after the output and rejects files are fsynced up to the point's offsets.
    public func commit(_ point: CommitPoint, complete: Bool = false) throws {
        try database.execute("PRAGMA synchronous=FULL")
        defer { try? database.execute("PRAGMA synchronous=NORMAL") }
        try database.transaction {
            try Self.upsert(point, into: "commit_point", database: database)
            try settle(through: point.seq, after: commitPoint?.seq ?? -1)
            if complete {
                try database.statement("UPDATE job SET complete = 1 WHERE id = 1").run()
            }
        }
        commitPoint = point
        if let written = writtenPoint, written.seq <= point.seq { writtenPoint = nil }
        if complete {
            isComplete = true
            // Nothing of the dropped tokens stays in the write-ahead log either.
            try database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }

    /// A complete job goes on (a table read again for the rows after its last key): the commit
    /// point stays, and the job is no longer complete until a run finishes it again.
    public func reopen() throws {
        try database.statement("UPDATE job SET complete = 0 WHERE id = 1").run()
        isComplete = false
    }

    /// For the records a commit covers (after `previous`, through `seq`): their outcomes go into
    /// the tally and their results are deleted (with ``Configuration/keepsAuditTrail``, only their
    /// tokens: the records keep their bfid and messageId). Tokens are needed only until their
    /// output line is durable, which it now is (a CVV's token is sensitive authentication data in
    /// another form).
    func settle(through seq: Int, after previous: Int) throws {
        guard seq > previous else { return }
        // The latest status of each record the commit covers (0: none stored), by seq - first.
        let first = previous + 1
        var statuses = [UInt8](repeating: 0, count: seq - previous)
        // Each record's error code, as an index into `errorCodes` (-1: none): an array, not a
        // dictionary by seq that every record without one had to be removed from.
        var codeIndex = [Int32](repeating: -1, count: seq - previous)
        var errorCodes: [ArraySlice<UInt8>] = []
        // The outcomes, from the results alone (the tokens are not read for this).
        let select = try database.statement(
            Self.settledOutcomesSQL
        )
        try select.bind(1, seq)
        try select.bind(2, first)
        try select.bind(3, seq)
        var straddling = false
        while try select.step() {
            let block = ResultBlock(results: select.blob(0) ?? [], tokens: nil, firstSeq: 0, lastSeq: 0, count: 0)
            _ = block.forEachOutcome { resultSeq, status, errorCode in
                guard resultSeq >= first && resultSeq <= seq else { return }
                statuses[resultSeq - first] = status
                if let errorCode {
                    codeIndex[resultSeq - first] = Int32(errorCodes.count)
                    errorCodes.append(errorCode)
                } else {
                    codeIndex[resultSeq - first] = -1
                }
            }
            straddling = straddling || select.int(1) != 0
        }
        if configuration.keepsAuditTrail {
            // Blocks that end within the commit lose all their tokens at once...
            let drop = try database.statement(Self.droppedTokensSQL)
            try drop.bind(1, first)
            try drop.bind(2, seq)
            try drop.run()
        } else {
            // ... or, by default, the blocks themselves: the tally has their outcomes, the output
            // their bfids. (Also the blocks an earlier version kept as its audit trail.)
            for sql in [Self.committedTokensSQL, Self.committedBlocksSQL] {
                let delete = try database.statement(sql)
                try delete.bind(1, seq)
                try delete.run()
            }
        }
        // ... and a block that also holds records after it keeps only theirs.
        if straddling {
            let update = try database.statement("UPDATE result_tokens SET tokens = ? WHERE block_id = ?")
            let delete = try database.statement("DELETE FROM result_tokens WHERE block_id = ?")
            for (id, block) in try Self.blocks(overlapping: seq...seq, database: database) where block.tokens != nil && block.lastSeq > seq {
                guard case .some(let keptTokens) = block.tokens(keepingAfter: seq) else { continue }
                if let kept = keptTokens {
                    try update.bind(1, blob: kept)
                    try update.bind(2, id)
                    try update.run()
                    update.resetForReuse()
                } else {
                    try delete.bind(1, id)
                    try delete.run()
                    delete.resetForReuse()
                }
            }
        }
        // Records without an error code (nearly all) counted by status in an array; the others
        // by status and code.
        var plain = [Int](repeating: 0, count: 256)
        var counts: [Tally: Int] = [:]
        for (offset, status) in statuses.enumerated() where status != 0 {
            let index = Int(codeIndex[offset])
            if index < 0 {
                plain[Int(status)] += 1
            } else {
                counts[Tally(status: Int(status), errorCode: String(decoding: errorCodes[index], as: UTF8.self)), default: 0] += 1
            }
        }
        for (status, count) in plain.enumerated() where count > 0 {
            counts[Tally(status: status, errorCode: ""), default: 0] += count
        }
        try Self.add(counts, to: database)
    }

    /// A line of the tally: records committed with one status and error code.
    struct Tally: Hashable {
        var status: Int
        var errorCode: String

        init(status: Int, errorCode: String) {
            self.status = status
            self.errorCode = errorCode
        }

        init(_ result: RecordResult) {
            status = result.status.rawValue
            errorCode = result.errorCode ?? ""
        }
    }

    static func add(_ counts: [Tally: Int], to database: SQLiteDatabase) throws {
        let upsert = try database.statement(
            "INSERT INTO tally (status, error_code, count) VALUES (?, ?, ?) ON CONFLICT (status, error_code) DO UPDATE SET count = count + excluded.count"
        )
        for (tally, count) in counts {
            try upsert.bind(1, tally.status)
            try upsert.bind(2, tally.errorCode)
            try upsert.bind(3, count)
            try upsert.run()
            upsert.resetForReuse()
        }
    }

    static func readCommitPoint(_ database: SQLiteDatabase) throws -> CommitPoint? {
        try readPoint(database, table: "commit_point")
    }

    /// Writes `point` as the one row of `table` (`commit_point` or `written_point`).
    static func upsert(_ point: CommitPoint, into table: String, database: SQLiteDatabase) throws {
        let upsert = try database.statement(
            "INSERT OR REPLACE INTO \(table) (id, seq, input_offset, input_line, output_offset, rejects_offset, updated_at) VALUES (1, ?, ?, ?, ?, ?, ?)"
        )
        try upsert.bind(1, point.seq)
        try upsert.bind(2, point.inputOffset)
        try upsert.bind(3, point.inputLine)
        try upsert.bind(4, point.outputOffset)
        try upsert.bind(5, point.rejectsOffset)
        try upsert.bind(6, Date().timeIntervalSince1970)
        try upsert.run()
        // A streamed input's digest at the point, in the same transaction (a job's points all
        // have one, or none do).
        if let digest = point.inputDigest {
            let store = try database.statement("INSERT OR REPLACE INTO point_input_digest (point, digest) VALUES (?, ?)")
            try store.bind(1, table)
            try store.bind(2, digest)
            try store.run()
        }
    }

    static func readPoint(_ database: SQLiteDatabase, table: String) throws -> CommitPoint? {
        let select = try database.statement(
            "SELECT seq, input_offset, input_line, output_offset, rejects_offset FROM \(table) WHERE id = 1"
        )
        guard try select.step() else { return nil }
        var point = CommitPoint(
            seq: select.int(0), inputOffset: select.int64(1), inputLine: select.int(2), outputOffset: select.int64(3),
            rejectsOffset: select.int64(4)
        )
        // (A checkpoint read before it had the table, by a reader that does not create tables, has none.)
        if let digest = try? database.statement("SELECT digest FROM point_input_digest WHERE point = ?") {
            try digest.bind(1, table)
            if try digest.step() { point.inputDigest = digest.text(0) }
        }
        return point
    }
}
