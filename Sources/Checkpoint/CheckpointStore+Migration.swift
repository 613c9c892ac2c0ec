extension CheckpointStore {
    /// Checkpoints written before results were stored in blocks kept one row per result in a
    /// `result` table. A run that reopens one moves its rows into blocks (in seq order, older than
    /// any block this version writes), folds the committed ones into the tally, and drops the
    /// table, in one transaction.
    static func migrateLegacyResults(_ database: SQLiteDatabase, committedThrough committed: Int) throws {
        let columns = try database.statement("SELECT name FROM pragma_table_info('result')")
        var names = Set<String>()
        while try columns.step() { if let name = columns.text(0) { names.insert(name) } }
        guard !names.isEmpty else { return }
        let digest = names.contains("digest") ? "digest" : "NULL"
        try database.transaction {
            let select = try database.statement(
                "SELECT seq, status, bfid, message_id, tokens, error_code, message, attempts, \(digest) FROM result ORDER BY seq"
            )
            var chunk: [RecordResult] = []
            var counts: [Tally: Int] = [:]
            while try select.step() {
                let result = legacyResult(from: select)
                if result.seq <= committed {
                    counts[Tally(result), default: 0] += 1
                    chunk.append(RecordResult(
                        seq: result.seq, status: result.status, bfid: result.bfid, messageId: result.messageId,
                        errorCode: result.errorCode, message: result.message, attempts: result.attempts, digest: result.digest
                    ))
                } else {
                    chunk.append(result)
                }
                if chunk.count == 1_000 {
                    try insert(ResultBlock(encoding: chunk), into: database)
                    chunk.removeAll(keepingCapacity: true)
                }
            }
            if !chunk.isEmpty { try insert(ResultBlock(encoding: chunk), into: database) }
            try add(counts, to: database)
            try database.execute("DROP TABLE result")
        }
    }

    /// A row of the old `result` table. Tokens were a BLOB in the last version that had it, text
    /// joined with U+001F before.
    static func legacyResult(from row: SQLiteStatement) -> RecordResult {
        let tokens = row.isBlob(4) ? row.blob(4).flatMap(RecordResult.decodeTokens) ?? [] : RecordResult.decodeLegacyTokens(row.text(4))
        return RecordResult(
            seq: row.int(0), status: RecordResult.Status(rawValue: row.int(1)) ?? .outcomeUnknown, bfid: row.text(2),
            messageId: row.text(3), tokens: tokens, errorCode: row.text(5), message: row.text(6), attempts: row.int(7),
            digest: row.blob(8)
        )
    }
}
