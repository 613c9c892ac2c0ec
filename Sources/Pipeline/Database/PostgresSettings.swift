import Foundation

/// Where and how to reach a PostgreSQL server, by libpq's conventions, so that what works for
/// `psql` works here: a `postgres://` (or `postgresql://`) URL, whose parts override the `PG*`
/// environment variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGSSLMODE`,
/// `PGSSLROOTCERT`, `PGCONNECT_TIMEOUT`, `PGAPPNAME`), then libpq's defaults. The password comes
/// from `PGPASSWORD` or a password file (`PGPASSFILE`, else `~/.pgpass`; see ``PasswordFile``),
/// never from the command line: a URL that holds one is refused (a process's arguments are
/// readable by every user of the machine, and end up in shell histories and job logs).
///
/// `sslmode` is libpq's: `disable`, `allow`, `prefer`, `require`, `verify-ca`, `verify-full`.
/// Where none is given, a server on loopback or a Unix socket is reached as libpq's `prefer`
/// does, and any other with `verify-full` (libpq's own default, `prefer`, lets a network
/// attacker in the middle read card data).
public struct PostgresSettings: Sendable, Equatable {
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"

        /// Whether the server's certificate must chain to a trusted root.
        public var verifiesChain: Bool { self == .verifyCA || self == .verifyFull }
    }

    /// A host name or address, or (starting with `/`) the folder of a Unix socket.
    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    public var password: String?
    public var sslMode: SSLMode
    /// Whether ``sslMode`` was given (by the URL or `PGSSLMODE`) or is our default.
    public var sslModeGiven: Bool
    /// The CA file that verifies the server (`sslrootcert`): a path, or `system` for the
    /// machine's trust store. `nil`: `~/.postgresql/root.crt` if there, else the system's.
    public var rootCertificate: String?
    public var connectTimeout: Int?
    public var applicationName: String

    /// The settings' own words, for a message: never the password.
    public var described: String {
        let place = isUnixSocket ? "socket \(socketPath)" : "\(host):\(port)"
        return "\(user)@\(place)/\(database) (sslmode \(sslMode.rawValue))"
    }

    public var isUnixSocket: Bool { host.hasPrefix("/") }
    public var socketPath: String { "\(host)/.s.PGSQL.\(port)" }

    /// Whether the server is on this machine (a Unix socket, `localhost`, 127.0.0.0/8, `::1`).
    public var isLoopback: Bool {
        isUnixSocket || host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
    }

    public struct Failure: Error, CustomStringConvertible, Equatable {
        public enum Kind: Sendable, Equatable {
            /// The settings, the table or the mapping are wrong.
            case configuration
            /// The server refused the role (SQLSTATE class 28, or 3D000: no such database).
            case refused
            /// The server could not be reached.
            case unreachable
        }

        public var description: String
        public var kind: Kind
        init(_ description: String, kind: Kind = .configuration) {
            self.description = description
            self.kind = kind
        }

        /// As a job's error, with the exit status of its kind.
        public var jobError: JobError {
            switch kind {
            case .configuration: JobError(.configuration, description)
            case .refused: JobError(.databaseRefused, description)
            case .unreachable: JobError(.databaseUnreachable, description)
            }
        }
    }

    /// Whether `text` names a PostgreSQL database (`postgres://` or `postgresql://`).
    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// The settings of `url` over `environment`'s, the password from `PGPASSWORD` or the
    /// password file.
    public static func resolve(url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PostgresSettings {
        let parsed = try PostgresURL(url)
        if parsed.password != nil {
            throw Failure("the database URL holds a password: put it in PGPASSWORD or a .pgpass file (mode 0600), never on the command line")
        }
        func value(_ fromURL: String?, _ variable: String) -> String? {
            if let fromURL, !fromURL.isEmpty { return fromURL }
            if let fromEnvironment = environment[variable], !fromEnvironment.isEmpty { return fromEnvironment }
            return nil
        }
        let osUser = environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? NSUserName()
        let host = value(parsed.host ?? parsed.parameters["host"], "PGHOST") ?? "/var/run/postgresql"
        let portText = value(parsed.port ?? parsed.parameters["port"], "PGPORT") ?? "5432"
        guard let port = Int(portText), (1...65535).contains(port) else { throw Failure("the database port is not a port: \(portText)") }
        let user = value(parsed.user ?? parsed.parameters["user"], "PGUSER") ?? osUser
        let database = value(parsed.database ?? parsed.parameters["dbname"], "PGDATABASE") ?? user
        var settings = PostgresSettings(
            host: host, port: port, user: user, database: database, password: nil, sslMode: .prefer, sslModeGiven: false,
            rootCertificate: value(parsed.parameters["sslrootcert"], "PGSSLROOTCERT"), connectTimeout: nil,
            applicationName: value(parsed.parameters["application_name"], "PGAPPNAME") ?? "batch-tokenize"
        )
        if let mode = value(parsed.parameters["sslmode"], "PGSSLMODE") {
            guard let known = SSLMode(rawValue: mode) else {
                throw Failure("sslmode \(mode) is not one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            settings.sslMode = known
            settings.sslModeGiven = true
        } else {
            settings.sslMode = settings.isLoopback ? .prefer : .verifyFull
        }
        if settings.isUnixSocket && settings.sslMode != .disable && settings.sslModeGiven && settings.sslMode != .prefer && settings.sslMode != .allow {
            throw Failure("sslmode \(settings.sslMode.rawValue) asks for TLS, which a Unix socket does not carry")
        }
        if let timeout = value(parsed.parameters["connect_timeout"], "PGCONNECT_TIMEOUT") {
            guard let seconds = Int(timeout), seconds >= 0 else { throw Failure("connect_timeout is not a number of seconds: \(timeout)") }
            settings.connectTimeout = seconds == 0 ? nil : max(seconds, 2)
        }
        if let password = environment["PGPASSWORD"], !password.isEmpty {
            settings.password = password
        } else {
            let file = environment["PGPASSFILE"] ?? environment["HOME"].map { $0 + "/.pgpass" }
            if let file {
                settings.password = try PasswordFile.password(
                    in: file, host: settings.isUnixSocket ? "localhost" : host, port: port, database: database, user: user
                )
            }
        }
        return settings
    }
}
