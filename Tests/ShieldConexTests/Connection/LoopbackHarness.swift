import Foundation
import Logging
import NIOCore
import NIOPosix
import Simulator

@testable import ShieldConex

/// A real simulator on a free loopback port, and helpers to connect the real client to it.
struct LoopbackHarness {
    static let key = "dGVzdC1rZXk6c2VjcmV0"
    let server: SimulatorServer

    static func start(_ adjust: (inout SimulatorConfiguration) -> Void = { _ in }) async throws -> LoopbackHarness {
        var configuration = SimulatorConfiguration()
        configuration.keys = [key, "restricted-demo-key"]
        configuration.seed = 7
        adjust(&configuration)
        return LoopbackHarness(server: try await SimulatorServer.start(configuration: configuration))
    }

    var endpoint: Endpoint { try! Endpoint(server.url) }

    func connect(
        key: String = LoopbackHarness.key, _ adjust: (inout ConnectionConfiguration) -> Void = { _ in }
    ) async throws -> ShieldConexConnection {
        var configuration = ConnectionConfiguration()
        configuration.requestTimeout = .seconds(20)
        adjust(&configuration)
        return try await ShieldConexConnection.connect(to: endpoint, key: APIKey(key), configuration: configuration)
    }

    func stop() async { await server.stop() }
}

/// Generates a throwaway CA and a server certificate for `localhost` / 127.0.0.1 with openssl.
struct TestCertificates {
    let directory: URL
    var caFile: String { directory.appendingPathComponent("ca.pem").path }
    var certificateFile: String { directory.appendingPathComponent("server.pem").path }
    var keyFile: String { directory.appendingPathComponent("server.key").path }

    static func generate() throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scx-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
            .write(to: directory.appendingPathComponent("ext.cnf"), atomically: true, encoding: .utf8)
        let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try run(["req", "-x509"] + curve + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=batch-tokenize test CA"], in: directory)
        try run(["req"] + curve + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"], in: directory)
        try run(
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
             "-days", "1", "-extfile", "ext.cnf"],
            in: directory
        )
        return TestCertificates(directory: directory)
    }

    private static func run(_ arguments: [String], in directory: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CertificateError(description: "openssl \(arguments.first ?? "") failed with status \(process.terminationStatus)")
        }
    }

    struct CertificateError: Error, CustomStringConvertible {
        var description: String
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}
