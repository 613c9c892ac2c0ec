import Logging
import PostgresNIO

/// A table's key space cut into ranges of nearly equal row counts, for a plan's shards: the rows
/// are counted, then numbered in key order (`row_number() OVER (ORDER BY key)`, which the server
/// streams from the key's index) and the key at each cut is kept — both in one snapshot
/// (`REPEATABLE READ`), and only the cuts reach us: constant memory on either side, whatever the
/// table's size.
///
/// Range `i` holds the keys after the cut before it and through its own: the first has no lower
/// bound, the last no upper one (rows inserted past the table's end after the plan belong to
/// it). Cuts are at `ceil(i × rows / shards)`, so that a table of fewer rows than shards leaves
/// the empty ranges between the others, never a range without a bound in the middle.
struct TableKeyRanges: Sendable {
    struct Range: Sendable, Hashable {
        /// The key the range reads after (`nil`: the table's start) and the last it reads (`nil`: the end).
        var afterKey: String?
        var throughKey: String?
        /// The rows in the range when it was cut.
        var rows: Int
    }

    var relation: TableRelation
    var rows: Int
    var ranges: [Range]

    static func cut(_ input: TableInput, shards: Int, logger: Logger) throws -> TableKeyRanges {
        precondition(shards >= 1)
        let connection = try PostgresConnector.connect(input.settings, logger: logger)
        defer { PostgresConnector.close(connection) }
        let relation = try TableRelation.inspect(input, on: connection, logger: logger)
        let key = TableInput.quoted(relation.key)
        do {
            _ = try connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger).wait()
            let total = Int(try connection.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(relation.name)"), logger: logger).wait().rows.first?.decode(Int64.self) ?? 0)
            guard total > 0 else {
                _ = try? connection.query("ROLLBACK", logger: logger).wait()
                throw PostgresSettings.Failure("\(relation.name) has no rows: there is nothing to cut into shards (run the job whole)")
            }
            // The ordinal of each range's last row, 1-based; the last range has none.
            let cuts = (1..<shards).map { index in (index * total + shards - 1) / shards }
            var keyAt: [Int: String] = [:]
            if !cuts.isEmpty {
                var query = PostgresQuery(
                    unsafeSQL: "SELECT s.n, s.k FROM (SELECT row_number() OVER (ORDER BY \(key)) AS n, \(key)::text AS k FROM \(relation.name)) s WHERE s.n = ANY($1::bigint[])"
                )
                query.binds.append(Array(Set(cuts)).map(Int64.init))
                for row in try connection.query(query, logger: logger).wait().rows {
                    let (ordinal, value) = try row.decode((Int64, String).self)
                    keyAt[Int(ordinal)] = value
                }
            }
            _ = try connection.query("COMMIT", logger: logger).wait()
            var ranges: [Range] = []
            var before = 0
            for index in 0..<shards {
                let end = index + 1 < shards ? cuts[index] : total
                guard index + 1 == shards || keyAt[end] != nil else {
                    throw PostgresSettings.Failure("\(relation.name) changed while it was cut (row \(end) of \(total) is gone): make the plan again")
                }
                ranges.append(Range(afterKey: ranges.last?.throughKey, throughKey: index + 1 < shards ? keyAt[end] : nil, rows: end - before))
                before = end
            }
            return TableKeyRanges(relation: relation, rows: total, ranges: ranges)
        } catch let error as PSQLError {
            throw PostgresSettings.Failure("cutting \(input.described) into shards: \(PostgresErrors.describe(error))")
        }
    }
}
