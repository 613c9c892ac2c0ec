import Foundation

/// GNU gzip, a compressor we did not write: what tests compress their inputs with, and what
/// they read our gzip output back with.
public enum GzipTool {
    /// `bytes` as one gzip member (`gzip -c -n -LEVEL`).
    public static func compress(_ bytes: [UInt8], level: Int = 6) throws -> [UInt8] {
        try run(["-c", "-n", "-\(level)"], input: bytes)
    }

    /// `bytes` as gzip members of `size` bytes each (cut anywhere, inside records too), one after
    /// another, as `pigz -i` or `bgzip` make them.
    public static func compress(_ bytes: [UInt8], membersOf size: Int) throws -> [UInt8] {
        var members: [UInt8] = []
        for start in stride(from: 0, to: bytes.count, by: size) {
            members += try compress(Array(bytes[start..<min(bytes.count, start + size)]))
        }
        return members
    }

    /// What `zcat` makes of `bytes` (every member, in order); throws when gzip refuses them.
    public static func decompress(_ bytes: [UInt8]) throws -> [UInt8] {
        try run(["-d", "-c"], input: bytes)
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    private static func run(_ arguments: [String], input: [UInt8]) throws -> [UInt8] {
        let folder = try TestFolder(prefix: "gzip")
        defer { folder.remove() }
        let inputPath = folder.path("in")
        try Data(input).write(to: URL(fileURLWithPath: inputPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
        process.arguments = arguments
        process.standardInput = FileHandle(forReadingAtPath: inputPath)
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "gzip \(arguments.joined(separator: " ")) failed: \(String(decoding: message, as: UTF8.self))")
        }
        return Array(data)
    }
}
