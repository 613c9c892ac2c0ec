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
    /// The CA that signed a TLS server's certificate (PEM).
    public var caFile: String { folder + "/ca.pem" }

    /// `postgres://batch@127.0.0.1:PORT/DATABASE` (the password goes in `PGPASSWORD`, never a URL).
    public func url(database: String = "postgres", query: String = "") -> String {
        "postgres://\(Self.user)@127.0.0.1:\(port)/\(database)" + (query.isEmpty ? "" : "?" + query)
    }

    /// The environment a client needs for it: the password.
    public var environment: [String: String] { ["PGPASSWORD": Self.password] }

    /// With `tls`, the server also takes TLS, with a certificate for the name `localhost` (not
    /// for the address 127.0.0.1) signed by a CA of the test's own (``caFile``), made by `openssl`.
    public init(tls: Bool = false) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binaries + "/initdb") else {
            throw Failure("PostgreSQL 15's server binaries are not at \(Self.binaries) (apt-get install postgresql-15)")
        }
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("pg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data((Self.password + "\n").utf8).write(to: URL(fileURLWithPath: folder + "/pwfile"))
        var serverOptions = ""
        if tls {
            try Self.makeCertificates(in: folder)
            serverOptions = " -c ssl=on -c ssl_cert_file=\(folder)/server.pem -c ssl_key_file=\(folder)/server.key"
        }
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
                    "-p \(candidate) -h 127.0.0.1 -k \(folder) -c fsync=off -c synchronous_commit=off -c full_page_writes=off" + serverOptions, "start",
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

    /// A CA, and a server certificate it signs for `localhost` (`server.pem`, `server.key`, mode
    /// 0600 as PostgreSQL wants it), in `folder`.
    public static func makeCertificates(in folder: String) throws {
        let openssl = "/usr/bin/openssl"
        try command([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=batch-tokenize test CA",
                     "-keyout", folder + "/ca.key", "-out", folder + "/ca.pem"])
        try command([openssl, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
                     "-keyout", folder + "/server.key", "-out", folder + "/server.csr"])
        try Data("subjectAltName=DNS:localhost\n".utf8).write(to: URL(fileURLWithPath: folder + "/san.cnf"))
        try command([openssl, "x509", "-req", "-in", folder + "/server.csr", "-CA", folder + "/ca.pem", "-CAkey", folder + "/ca.key", "-CAcreateserial",
                     "-days", "2", "-extfile", folder + "/san.cnf", "-out", folder + "/server.pem"])
        chmod(folder + "/server.key", 0o600)
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

    /// Runs a program to its end (`posix_spawn` and `waitpid`: Foundation's `Process` was seen
    /// never to notice `runuser`'s exit); its standard output, or an error with both outputs.
    @discardableResult
    static func command(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let outputs = FileManager.default.temporaryDirectory.appendingPathComponent("pg-command-\(UUID().uuidString)").path
        defer {
            unlink(outputs + ".out")
            unlink(outputs + ".err")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputs + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, outputs + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, arguments[0], &actions, nil, &argv, &envp)
        guard spawned == 0 else { throw Failure("cannot run \(arguments[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let out = (try? String(contentsOfFile: outputs + ".out", encoding: .utf8)) ?? ""
        let errorText = (try? String(contentsOfFile: outputs + ".err", encoding: .utf8)) ?? ""
        // Exited normally with 0 (the status's low 7 bits are a signal's number, its next 8 the exit code).
        guard status & 0x7F == 0, (status >> 8) & 0xFF == 0 else {
            throw Failure("\(URL(fileURLWithPath: arguments[0]).lastPathComponent) failed (status \(status)): " + errorText + out)
        }
        return out
    }

    public static func freePort() throws -> Int {
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
