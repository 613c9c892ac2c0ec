import Foundation
import Pipeline
import ShieldConex
import Testing
import TestSupport

/// A multi-million-row input is read in constant memory: the peak RSS of a dry run over
/// 2,000,000 rows is about that of a run over 100,000.
@Suite(.serialized) struct LargeInputTests {

    /// Runs a dry run in a child process and returns its peak RSS in MiB.
    static func dryRunPeakRSS(input: String) throws -> (status: Int32, output: String, peakMiB: Double) {
        let process = BinaryLauncher.process(["run", "--input", input, "--map", "card_number=card_number:luhn", "--map", "card_exp=card_exp", "--dry-run"])
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        // The dry run reports its own peak RSS.
        let peak = output.split(separator: "\n").first { $0.hasPrefix("peak memory: ") }
            .flatMap { Double($0.dropFirst("peak memory: ".count).split(separator: " ")[0]) } ?? .infinity
        return (process.terminationStatus, output, peak)
    }

    @Test func twoMillionRowsAreReadInFlatMemory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("large-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let small = directory.appendingPathComponent("small.csv").path
        let large = directory.appendingPathComponent("large.csv").path
        try CSVFiles.generate(rows: 100_000, to: small)
        try CSVFiles.generate(rows: 2_000_000, to: large)
        let size = try FileManager.default.attributesOfItem(atPath: large)[.size] as! Int
        #expect(size > 100_000_000)

        let smallRun = try Self.dryRunPeakRSS(input: small)
        #expect(smallRun.status == 0)
        #expect(smallRun.output.contains("records read: 100000"))
        let largeRun = try Self.dryRunPeakRSS(input: large)
        #expect(largeRun.status == 0)
        #expect(largeRun.output.contains("records read: 2000000"))
        #expect(largeRun.output.contains("card_number: 2000000"))
        print("peak RSS: 100,000 rows \(smallRun.peakMiB) MiB; 2,000,000 rows (\(size / 1_000_000) MB) \(largeRun.peakMiB) MiB")
        // Flat: the 20-times larger input costs (almost) no more memory, and far less than its size
        // (a reader that held the input would need over 100 MiB more; allocator noise is a few MiB).
        #expect(largeRun.peakMiB - smallRun.peakMiB < 16)
        #expect(largeRun.peakMiB < Double(size) / 1_048_576)
    }
}
