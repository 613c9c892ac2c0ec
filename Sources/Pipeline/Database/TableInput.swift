import Checkpoint
import Foundation

/// A table (or a view) named as a job's input: `postgres://…/DB?table=NAME&key=COLUMN`, read in
/// the order of its key (keyset pagination). `NAME` is what PostgreSQL takes for a relation
/// (`cards`, `billing.cards`, `"Cards"`); `COLUMN` a column's name as it is stored.
public struct TableInput: Sendable, Equatable {
    public var settings: PostgresSettings
    public var table: String
    public var key: String

    /// The table input `url` names, the connection's settings resolved from it and `environment`.
    public static func parse(_ url: String, environment: [String: String]) throws -> TableInput {
        let parsed = try PostgresURL(url)
        guard let table = parsed.parameters["table"], !table.isEmpty else {
            throw PostgresSettings.Failure("name the table to read: \(PostgresURL.withoutQuery(url))?table=NAME&key=COLUMN")
        }
        guard let key = parsed.parameters["key"], !key.isEmpty else {
            throw PostgresSettings.Failure("name the table's key column (unique, not null; rows are read in its order): …?table=\(table)&key=COLUMN")
        }
        return TableInput(settings: try PostgresSettings.resolve(url: url, environment: environment), table: table, key: key)
    }

    /// What identifies the table in a job's identity and a plan: where it is (server, database,
    /// table, key), keyed, not its rows, which change between runs (each point stores the key to
    /// read on from).
    public func fingerprint(key: DigestKey) -> InputFingerprint {
        let place = [settings.host, String(settings.port), settings.database, table, self.key]
        return InputFingerprint(size: -1, modified: 0, digest: "table:" + key.hexDigest(place.map { Array($0.utf8) }))
    }

    /// For messages and the job's identity: where the rows are, never the password.
    public var described: String { "table \(table) (key \(key)) of \(settings.described)" }

    /// The key is stored in the checkpoint (where to read on from): it must never be card data,
    /// so a key that the mapping tokenizes is refused.
    func refuseMappedKey(_ instructions: [Instruction]) throws {
        let mapped = instructions.contains { instruction in
            let path = instruction.transformationPath
            return switch instruction.transformationType {
            case .key: path == key
            case .jsonpath: path == "$." + key || path.hasPrefix("$." + key + ".") || path.hasPrefix("$." + key + "[") || path.hasPrefix("$['" + key + "']")
            case .regex: (instruction.source ?? "") == key
            }
        }
        if mapped {
            throw PostgresSettings.Failure("the key column \(key) is mapped (tokenized): the checkpoint stores keys, and must never hold card data. Name another key")
        }
    }

    /// An identifier quoted for SQL (`"` doubled).
    static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension PostgresURL {
    static func withoutQuery(_ url: String) -> Substring {
        url.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? Substring(url)
    }
}
