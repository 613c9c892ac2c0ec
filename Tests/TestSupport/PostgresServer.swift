import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL 15 server of the test's own: `initdb` into a new folder, `pg_ctl start` on a free
/// loopback port (TCP connections authenticate with a password, SCRAM-SHA-256; the folder's Unix
/// socket is trusted), stopped and removed by ``stop()``. PostgreSQL refuses to run as root, and
/// CI runs as root: there, the server runs as the `postgres` user the Debian package creates
/// (`runuser`), in a folder given to it.
public final class PostgresServer: @unchecked Sendable {
    public static let binaries = "/usr/lib/postgresql/15/bin"
    public static let user = "batch"
    public static let password = "test-password-only"

    public let folder: String
    public let port: Int
    public var data: String { folder + "/data" }

    /// `postgres://batch@127.0.0.1:PORT/DATABASE` (the password goes in `PGPASSWORD`, never a URL).
    public func url(database: String = "postgres", query: String = "") -> String {
        "postgres://\(Self.user)@127.0.0.1:\(port)/\(database)" + (query.isEmpty ? "" : "?" + query)
    }

    /// The environment a client needs for it: the password.
    public var environment: [String: String] { ["PGPASSWORD": Self.password] }

    public init() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binaries + "/initdb") else {
            throw Failure("PostgreSQL 15's server binaries are not at \(Self.binaries) (apt-get install postgresql-15)")
        }
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("pg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data((Self.password + "\n").utf8).write(to: URL(fileURLWithPath: folder + "/pwfile"))
        if getuid() == 0 { try Self.command(["/bin/chown", "-R", "postgres:postgres", folder]) }
        try Self.asServerUser([
            Self.binaries + "/initdb", "-D", folder + "/data", "-U", Self.user, "--pwfile", folder + "/pwfile", "--auth-local=trust",
            "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync",
        ])
        // A free port, as the kernel gives one; another process may take it before the server
        // binds it, so a start that fails is tried again on another.
        var started: Int?
        var lastError: (any Error)?
        for _ in 0..<5 where started == nil {
            let candidate = try Self.freePort()
            do {
                try Self.asServerUser([
                    Self.binaries + "/pg_ctl", "-D", folder + "/data", "-l", folder + "/log", "-w", "-t", "120", "-o",
                    "-p \(candidate) -h 127.0.0.1 -k \(folder) -c fsync=off -c synchronous_commit=off -c full_page_writes=off", "start",
                ])
                started = candidate
            } catch {
                lastError = error
            }
        }
        guard let started else { throw lastError ?? Failure("the server did not start") }
        port = started
    }

    /// Stops the server (at once: its data is thrown away) and removes its folder.
    public func stop() {
        _ = try? Self.asServerUser([Self.binaries + "/pg_ctl", "-D", folder + "/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Runs `sql` with `psql` (a client we did not write) over TCP as ``user``; its output
    /// unaligned, tuples only (`-At`), rows a line each.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        try Self.command(
            ["/usr/bin/psql", "-X", "-v", "ON_ERROR_STOP=1", "-At", "-d", url(database: database), "-c", sql], environment: environment
        )
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    static func asServerUser(_ arguments: [String]) throws {
        if getuid() == 0 {
            try command(["/usr/sbin/runuser", "-u", "postgres", "--"] + arguments)
        } else {
            try command(arguments)
        }
    }

    /// Runs a program to its end; its standard output, or an error with both outputs.
    @discardableResult
    static func command(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Both pipes drain together: a program that fills one while the other is read would block.
        let errorData = BinaryLauncher.LockedData()
        let reader = Thread { errorData.set(errors.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errorData.wait(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(
                "\(URL(fileURLWithPath: arguments[0]).lastPathComponent) exited \(process.terminationStatus): "
                    + errorText + String(decoding: out, as: UTF8.self)
            )
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw Failure("bind: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
