import Checkpoint
import Logging
import PostgresNIO

/// Our table in the destination database, `batch_tokenize_progress`: a row per job (its id),
/// written in the same transaction as the rows it covers, so that the database and the
/// checkpoint can never disagree on what is done. It holds the commit point (the last record's
/// ordinal, the key of the row before the point, the rejects file's length there) and whether
/// the job is complete: where a killed job reads on from, and where a nightly run begins.
/// Created if absent (the role needs `CREATE` on the schema once).
enum ProgressTable {
    static let name = "batch_tokenize_progress"

    struct Row: Equatable {
        var point: CommitPoint
        var complete: Bool
    }

    static func create(on connection: PostgresConnection, logger: Logger) throws {
        try ConcurrentCreate.run(
            """
            CREATE TABLE IF NOT EXISTS \(name) (
              job text PRIMARY KEY, relation text NOT NULL, seq bigint NOT NULL, input_offset bigint NOT NULL,
              input_line bigint NOT NULL, last_key text, output_offset bigint NOT NULL, rejects_offset bigint NOT NULL,
              complete boolean NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())
            """, on: connection, logger: logger)
    }

    static func read(job: String, on connection: PostgresConnection, logger: Logger) throws -> Row? {
        var query = PostgresQuery(
            unsafeSQL: "SELECT seq, input_offset, input_line, last_key, output_offset, rejects_offset, complete FROM \(name) WHERE job = $1")
        query.binds.append(job)
        guard let row = try connection.query(query, logger: logger).wait().rows.first else { return nil }
        let (seq, inputOffset, inputLine, lastKey, outputOffset, rejectsOffset, complete) = try row.decode((Int64, Int64, Int64, String?, Int64, Int64, Bool).self)
        return Row(
            point: CommitPoint(
                seq: Int(seq), inputOffset: inputOffset, inputLine: Int(inputLine), outputOffset: outputOffset, rejectsOffset: rejectsOffset,
                inputDigest: lastKey
            ), complete: complete)
    }

    /// The statement that records `point` for `job` (run inside the rows' transaction).
    static func upsert(job: String, relation: String, point: CommitPoint, complete: Bool) -> PostgresQuery {
        var query = PostgresQuery(
            unsafeSQL: """
                INSERT INTO \(name) (job, relation, seq, input_offset, input_line, last_key, output_offset, rejects_offset, complete, updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())
                ON CONFLICT (job) DO UPDATE SET relation = EXCLUDED.relation, seq = EXCLUDED.seq, input_offset = EXCLUDED.input_offset,
                  input_line = EXCLUDED.input_line, last_key = EXCLUDED.last_key, output_offset = EXCLUDED.output_offset,
                  rejects_offset = EXCLUDED.rejects_offset, complete = EXCLUDED.complete, updated_at = now()
                """)
        query.binds.append(job)
        query.binds.append(relation)
        query.binds.append(Int64(point.seq))
        query.binds.append(point.inputOffset)
        query.binds.append(Int64(point.inputLine))
        query.binds.append(point.inputDigest)
        query.binds.append(point.outputOffset)
        query.binds.append(point.rejectsOffset)
        query.binds.append(complete)
        return query
    }
}
