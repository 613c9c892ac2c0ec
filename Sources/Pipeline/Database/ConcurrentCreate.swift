import Logging
import PostgresNIO

/// `CREATE … IF NOT EXISTS` run by several jobs at once (the shards of a plan, writing one new
/// table and one progress table): PostgreSQL checks for the name before it takes it, so all but
/// one may fail with a duplicate (`42P07`, or `23505` on the catalog's own index). Run again,
/// the statement finds the table there and does nothing.
enum ConcurrentCreate {
    static func run(_ sql: String, on connection: PostgresConnection, logger: Logger) throws {
        var attempt = 0
        while true {
            do {
                _ = try connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).wait()
                return
            } catch let error as PSQLError where attempt < 3 && ["42P07", "23505"].contains(error.serverInfo?[.sqlState] ?? "") {
                attempt += 1
                logger.debug("another job created the table first: creating it if absent again", metadata: ["attempt": "\(attempt)"])
            }
        }
    }
}
