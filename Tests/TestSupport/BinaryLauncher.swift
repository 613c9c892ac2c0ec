import Foundation

/// Launching the `batch-tokenize` executable as a user would: from the build folder the tests
/// run from, with no API key inherited and the backtracer off (a killed or crashed process must
/// not hold the output pipe for minutes).
public enum BinaryLauncher {
    public struct Outcome: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    public static var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("batch-tokenize").path
    }

    public static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["SCX_API_KEY"] = nil
        environment["SWIFT_BACKTRACE"] = "enable=no"
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    /// A process of the executable, not started.
    public static func process(_ arguments: [String], environment extra: [String: String] = [:], directory: String? = nil) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = environment(extra)
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        return process
    }

    /// Runs the executable to its end and returns its status and output.
    public static func run(_ arguments: [String], environment extra: [String: String] = [:], directory: String? = nil) throws -> Outcome {
        let process = process(arguments, environment: extra, directory: directory)
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Both pipes drain together: a child that fills one while the other is read would block.
        let stdoutData = LockedData()
        let reader = Thread { stdoutData.set(out.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        let stdout = stdoutData.wait()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// The data a reader thread hands over.
    final class LockedData: @unchecked Sendable {
        private let condition = NSCondition()
        private var data: Data?

        func set(_ value: Data) {
            condition.lock()
            data = value
            condition.signal()
            condition.unlock()
        }

        func wait() -> Data {
            condition.lock()
            defer { condition.unlock() }
            while data == nil { condition.wait() }
            return data!
        }
    }
}
