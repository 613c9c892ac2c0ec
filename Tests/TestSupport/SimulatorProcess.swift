import Foundation

/// A running `batch-tokenize simulate` on a free loopback port, accepting ``TestKeys/simulator``,
/// stopped by ``stop()``.
public final class SimulatorProcess {
    public let process = Process()
    public let url: String
    let output = Pipe()

    public init(_ arguments: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: BinaryLauncher.binary)
        process.arguments = ["simulate", "--port", "0", "--key", TestKeys.simulator, "--seed", "3"] + arguments
        process.environment = BinaryLauncher.environment()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        url = Self.listeningURL(in: output)
    }

    /// The URL of a server's first stdout line, `listening on URL` (empty if it never came).
    public static func listeningURL(in output: Pipe) -> String {
        var first = Data()
        while !first.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            first.append(chunk)
        }
        let line = String(decoding: first, as: UTF8.self).split(separator: "\n").first ?? ""
        return String(line.dropFirst("listening on ".count))
    }

    /// Stops the simulator and returns its counters (`name: value` lines).
    public func stop() -> String {
        process.interrupt()
        let rest = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: rest, as: UTF8.self)
    }

    /// The value of counter `name` in what ``stop()`` returned (0 when absent).
    public static func counter(_ name: String, in counters: String) -> Int {
        counters.split(separator: "\n").first { $0.contains("\(name):") }
            .flatMap { Int($0.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)) } ?? 0
    }
}
