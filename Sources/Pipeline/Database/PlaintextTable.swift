import Logging
import PostgresNIO

/// A detokenize job's destination holds card data in plaintext: as its file form is created with
/// mode 0600, the table is left with no privileges for any role but its owner — `PUBLIC`'s
/// revoked, and any role's that default privileges (`ALTER DEFAULT PRIVILEGES`) or a grant gave
/// it. Run at every start (a grant made between runs is taken back too); refused when the role
/// cannot (only the table's owner may revoke), or when a grant is left, before anything is sent.
/// (Superusers and members of the owning role can still read it: no table can stop them.)
enum PlaintextTable {
    static func restrictToOwner(_ destination: TableDestination, on connection: PostgresConnection, logger: Logger) throws {
        let name = destination.name
        do {
            _ = try connection.query(PostgresQuery(unsafeSQL: "REVOKE ALL ON \(name) FROM PUBLIC"), logger: logger).wait()
            for role in try others(name, on: connection, logger: logger) {
                _ = try connection.query(PostgresQuery(unsafeSQL: "REVOKE ALL ON \(name) FROM \(role)"), logger: logger).wait()
            }
            let left = try others(name, on: connection, logger: logger)
            guard left.isEmpty else {
                throw PostgresSettings.Failure("\(name) will hold plaintext card data, and \(left.joined(separator: ", ")) can still read it: revoke their privileges first. Nothing was sent")
            }
        } catch let error as PSQLError {
            throw PostgresSettings.Failure(
                "\(name) will hold plaintext card data, and its privileges could not be restricted to its owner (\(PostgresErrors.describe(error))): "
                    + "detokenize into a table this role owns. Nothing was sent"
            )
        }
        logger.warning("\(name) will hold cardholder data in plaintext (no privileges for any role but its owner); protect it and drop it when done")
    }

    /// The roles other than the owner that hold a privilege on `name` (`PUBLIC` as `PUBLIC`).
    private static func others(_ name: String, on connection: PostgresConnection, logger: Logger) throws -> [String] {
        var query = PostgresQuery(
            unsafeSQL: """
                SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END
                FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = to_regclass($1) AND a.grantee <> c.relowner
                """)
        query.binds.append(name)
        return try connection.query(query, logger: logger).wait().rows.map { try $0.decode(String.self) }
    }
}
