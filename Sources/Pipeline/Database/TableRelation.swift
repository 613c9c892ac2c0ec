import Logging
import PostgresNIO

/// What the catalog says of a table input, checked before a row is read: the relation exists and
/// is readable, the key column exists, is unique (a unique index on it alone, not partial: a
/// primary key or a unique constraint) and not null (a `NOT NULL` constraint, so that no row can
/// hide from `WHERE key > …`). A view has neither index nor constraint: its key is checked by
/// counting (`count(*) = count(DISTINCT key)`, no nulls), one scan of the view.
struct TableRelation: Sendable {
    /// The relation's name as PostgreSQL prints it (quoted where needed, schema where not on the path).
    var name: String
    var key: String
    /// The key's type, as `format_type` gives it (`bigint`, `text`, `uuid`, ...).
    var keyType: String
    var isView: Bool
    /// Its columns and their types, in order (`id bigint, card_number text, ...`): a job resumed
    /// over a table altered since (a column dropped, added or retyped) is refused.
    var definition = ""

    /// The page query: rows as JSON and their key as text, in key order; with `columns`, only
    /// those (and the key) in the JSON (a table output writes no other: less to send, parse and
    /// render), else every column (a file output holds the whole row). Its binds: the key after
    /// which it reads (with `after`), then the last key it may read (with `through`: a shard's range).
    func pageQuery(after: Bool, through: Bool = false, limit: Int, columns: [String]? = nil) -> String {
        let key = TableInput.quoted(self.key)
        var conditions: [String] = []
        if after { conditions.append("\(key) > $1::\(keyType)") }
        if through { conditions.append("\(key) <= $\(conditions.count + 1)::\(keyType)") }
        let condition = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let selected = columns.map { names in
            ([self.key] + names.filter { $0 != self.key }).map(TableInput.quoted).joined(separator: ", ")
        } ?? "*"
        return "SELECT row_to_json(t)::text, t.\(key)::text FROM (SELECT \(selected) FROM \(name)\(condition) ORDER BY \(key) LIMIT \(limit)) t ORDER BY t.\(key)"
    }

    /// The page query of the fields shape (``TableReader/Shape/fields``): the key and `columns`
    /// (the key first, each once), each as text, in key order; the binds as ``pageQuery``'s.
    func fieldsQuery(after: Bool, through: Bool = false, limit: Int, columns: [String]) -> String {
        let key = TableInput.quoted(self.key)
        var conditions: [String] = []
        if after { conditions.append("\(key) > $1::\(keyType)") }
        if through { conditions.append("\(key) <= $\(conditions.count + 1)::\(keyType)") }
        let condition = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let selected = columns.map { "t.\(TableInput.quoted($0))::text" }.joined(separator: ", ")
        return "SELECT \(selected) FROM \(name) t\(condition) ORDER BY t.\(key) LIMIT \(limit)"
    }

    static func inspect(_ input: TableInput, on connection: PostgresConnection, logger: Logger) throws -> TableRelation {
        func one<Row: PostgresDecodable>(_ sql: String, _ binds: [String], as: Row.Type) throws -> Row? {
            var query = PostgresQuery(unsafeSQL: sql)
            for bind in binds { query.binds.append(bind) }
            let rows = try connection.query(query, logger: logger).wait().rows
            return try rows.first.map { try $0.decode(Row.self) }
        }
        let name: String
        let kind: String
        do {
            guard let found = try one("SELECT c.oid::regclass::text || '|' || c.relkind::text FROM pg_class c WHERE c.oid = to_regclass($1)", [input.table], as: String.self) else {
                throw PostgresSettings.Failure("the table \(input.table) is not in \(input.settings.described) (or \(input.settings.user) cannot see it)")
            }
            let parts = found.split(separator: "|", omittingEmptySubsequences: false)
            name = parts.dropLast().joined(separator: "|")
            kind = String(parts.last ?? "")
        } catch let error as PSQLError {
            throw PostgresSettings.Failure("cannot look up the table \(input.table): \(PostgresErrors.describe(error))")
        }
        guard ["r", "p", "v", "m", "f"].contains(kind) else {
            throw PostgresSettings.Failure("\(name) is not a table or a view")
        }
        let isView = kind == "v" || kind == "f"
        do {
            guard
                let column = try one(
                    "SELECT format_type(a.atttypid, a.atttypmod) || '|' || a.attnotnull::text || '|' || a.attnum::text FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
                    [input.table, input.key], as: String.self)
            else {
                throw PostgresSettings.Failure("\(name) has no column \(input.key) (the key names a column as it is stored: its case matters)")
            }
            let parts = column.split(separator: "|").map(String.init)
            let type = parts[0]
            let notNull = parts[1] == "true"
            var relation = TableRelation(name: name, key: input.key, keyType: type, isView: isView)
            relation.definition = try one(
                "SELECT string_agg(quote_ident(attname) || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped",
                [input.table], as: String.self) ?? ""
            let alter = "ALTER TABLE \(name) ALTER COLUMN \(TableInput.quoted(input.key)) SET NOT NULL"
            if isView {
                let counts = try one(
                    "SELECT (count(*) = count(\(TableInput.quoted(input.key))))::text || '|' || (count(*) = count(DISTINCT \(TableInput.quoted(input.key))))::text FROM \(name)",
                    [], as: String.self) ?? "false|false"
                let parts = counts.split(separator: "|")
                guard parts.first == "true" else {
                    throw PostgresSettings.Failure("the key \(input.key) of the view \(name) has nulls: rows with a null key would never be read. Name a key that is never null")
                }
                guard parts.last == "true" else {
                    throw PostgresSettings.Failure("the key \(input.key) of the view \(name) is not unique: rows that share a key would be read once. Name a unique key")
                }
                return relation
            }
            let unique = try one(
                """
                SELECT count(*)::text FROM pg_index i WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL
                  AND i.indexprs IS NULL AND i.indnkeyatts = 1 AND i.indkey[0] = $2::int2
                """, [input.table, parts[2]], as: String.self)
            guard unique.map({ $0 != "0" }) == true else {
                throw PostgresSettings.Failure(
                    "the key \(input.key) of \(name) is not unique by an index: rows that share a key would be read once, or never. "
                        + "Name the primary key, or make this one unique (CREATE UNIQUE INDEX ON \(name) (\(TableInput.quoted(input.key))))"
                )
            }
            guard notNull else {
                throw PostgresSettings.Failure("the key \(input.key) of \(name) may be null: rows with a null key would never be read. Name a NOT NULL key (\(alter))")
            }
            return relation
        } catch let error as PSQLError {
            throw PostgresSettings.Failure("cannot look up the key \(input.key) of \(name): \(PostgresErrors.describe(error))")
        }
    }
}
