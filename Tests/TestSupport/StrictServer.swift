import Foundation

/// A running ShieldConex-shaped server that we did not write: Python's `websockets` 15.x with its
/// default handshake checks (Tests/Fixtures/websockets-server), on a loopback port; `stop()`
/// returns its counters.
public final class StrictServer {
    /// The key the fixture accepts.
    public static let key = "c3RyaWN0OmtleQ=="

    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    let process = Process()
    public let url: String
    let output = Pipe()

    /// The virtualenv's Python (made on first use by scripts/strict-server-venv.sh).
    static let python: String = {
        let setup = Process()
        setup.executableURL = URL(fileURLWithPath: "/bin/bash")
        setup.arguments = [ProjectFiles.root + "/scripts/strict-server-venv.sh"]
        let out = Pipe()
        setup.standardOutput = out
        try? setup.run()
        let path = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        setup.waitUntilExit()
        return path.trimmingCharacters(in: .whitespacesAndNewlines)
    }()

    public init(_ arguments: [String] = []) throws {
        let python = Self.python
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw Unavailable(description: "the websockets 15 virtualenv could not be made")
        }
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [ProjectFiles.root + "/Tests/Fixtures/websockets-server/scx_websockets_server.py", "--key", Self.key] + arguments
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        url = SimulatorProcess.listeningURL(in: output)
    }

    /// Stops the server and returns its counters.
    public func stop() -> [String: Double] {
        process.interrupt()
        let rest = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        var counters: [String: Double] = [:]
        for line in rest.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = Double(parts[1]) { counters[String(parts[0])] = value }
        }
        return counters
    }

    /// Runs `batch-tokenize` from the project's root with `key` (the fixture's by default).
    public static func command(_ arguments: [String], key: String = StrictServer.key) throws -> BinaryLauncher.Outcome {
        try BinaryLauncher.run(arguments, environment: ["SCX_API_KEY": key], directory: ProjectFiles.root)
    }
}
