/// A libpq connection URI taken apart: `postgres[ql]://[user[:password]@][host][:port][/dbname][?name=value&...]`,
/// percent-decoded; a host in brackets is an IPv6 address, and a host given as a `host`
/// parameter may be a Unix socket's folder (`?host=/var/run/postgresql`). Parameters we do not
/// know are refused (libpq refuses them too): a misspelled `sslmode` must not pass unseen.
struct PostgresURL: Equatable {
    var user: String?
    var password: String?
    var host: String?
    var port: String?
    var database: String?
    var parameters: [String: String] = [:]
    /// And, for a table input or output, `?table=NAME&key=COLUMN` (ours, not libpq's).
    static let known: Set<String> = [
        "host", "port", "user", "dbname", "sslmode", "sslrootcert", "connect_timeout", "application_name", "table", "key",
    ]

    init(_ text: String) throws {
        let rest: Substring
        if text.hasPrefix("postgresql://") {
            rest = text.dropFirst("postgresql://".count)
        } else if text.hasPrefix("postgres://") {
            rest = text.dropFirst("postgres://".count)
        } else {
            throw PostgresSettings.Failure("a database URL starts with postgres:// or postgresql://")
        }
        var main = rest
        if let question = rest.firstIndex(of: "?") {
            main = rest[..<question]
            for pair in rest[rest.index(after: question)...].split(separator: "&") where !pair.isEmpty {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = try Self.decode(parts[0])
                guard Self.known.contains(name) else {
                    throw PostgresSettings.Failure("the database URL's parameter \(name) is not one we know (\(Self.known.sorted().joined(separator: ", ")))")
                }
                guard parameters[name] == nil else { throw PostgresSettings.Failure("the database URL gives \(name) twice") }
                parameters[name] = parts.count > 1 ? try Self.decode(parts[1]) : ""
            }
        }
        var authority = main
        if let slash = main.firstIndex(of: "/") {
            authority = main[..<slash]
            let name = try Self.decode(main[main.index(after: slash)...])
            database = name.isEmpty ? nil : name
        }
        if let at = authority.lastIndex(of: "@") {
            let credentials = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                user = try Self.decode(credentials[..<colon])
                password = try Self.decode(credentials[credentials.index(after: colon)...])
            } else {
                user = try Self.decode(credentials)
            }
        }
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw PostgresSettings.Failure("the database URL's IPv6 host has no ]") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { port = String(after.dropFirst()) } else if !after.isEmpty {
                throw PostgresSettings.Failure("the database URL has something after its host: \(after)")
            }
        } else if let colon = authority.firstIndex(of: ":") {
            host = try Self.decode(authority[..<colon])
            port = String(authority[authority.index(after: colon)...])
        } else if !authority.isEmpty {
            host = try Self.decode(authority)
        }
        if host?.isEmpty == true { host = nil }
        if port?.isEmpty == true { port = nil }
        if host?.contains(",") == true { throw PostgresSettings.Failure("the database URL names several hosts; name one") }
    }

    private static func decode(_ text: Substring) throws -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%") {
                let first = utf8.index(after: index)
                guard first < utf8.endIndex, utf8.index(after: first) < utf8.endIndex,
                    let high = hex(utf8[first]), let low = hex(utf8[utf8.index(after: first)])
                else { throw PostgresSettings.Failure("the database URL has a bad %-escape") }
                bytes.append(high << 4 | low)
                index = utf8.index(first, offsetBy: 2)
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else { throw PostgresSettings.Failure("the database URL is not UTF-8 once decoded") }
        return decoded
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
