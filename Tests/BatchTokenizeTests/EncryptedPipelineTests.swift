import Checkpoint
import Foundation
import Testing
import TestSupport

/// The pipeline the README gives for a PGP-encrypted export, run for real with GnuPG (a program
/// we did not write): `gpg --decrypt cards.csv.gpg | batch-tokenize run --input - …`, killed half
/// way and resumed through the same pipeline. The card numbers are on disk only as ciphertext.
@Suite(.serialized) struct EncryptedPipelineTests {
    static let gpg = "/usr/bin/gpg"
    static let records = 100_000

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs gpg with `arguments` in `home`, `input` on its stdin; throws unless it succeeds.
    static func gpg(_ arguments: [String], home: String, input: [UInt8] = []) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: gpg)
        process.arguments = ["--homedir", home, "--batch", "--quiet"] + arguments
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        let stderr = Pipe()
        process.standardError = stderr
        try process.run()
        let writer = Thread {
            stdin.fileHandleForWriting.write(Data(input))
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failure(description: "gpg \(arguments.first ?? ""): \(message)") }
    }

    @Test func aGpgPipelineKilledHalfWayResumesToThePlainRunsOutput() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let home = folder.path("gnupg")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        defer {
            // The agent gpg started for this home.
            let stop = Process()
            stop.executableURL = URL(fileURLWithPath: "/usr/bin/gpgconf")
            stop.arguments = ["--homedir", home, "--kill", "gpg-agent"]
            try? stop.run()
            stop.waitUntilExit()
        }
        // A throw-away key, and the export encrypted to it straight from memory.
        try Self.gpg(
            ["--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", "batch-tokenize test <test@example.invalid>", "future-default", "default", "never"],
            home: home
        )
        let encrypted = folder.path("cards.csv.gpg")
        try Self.gpg(
            ["--trust-model", "always", "--recipient", "test@example.invalid", "--encrypt", "--output", encrypted], home: home,
            input: CSVFiles.generated(rows: Self.records)
        )
        let simulator = try SimulatorProcess(["--deterministic-ids", "--latency-ms", "2"])
        defer { _ = simulator.stop() }
        let decrypt = [Self.gpg, "--homedir", home, "--batch", "--quiet", "--decrypt", encrypted]
        func arguments(_ output: String) -> [String] {
            ["run", "--endpoint", simulator.url, "--input", "-", "--input-name", "cards.csv", "--output", output, "--template-ref", TestRuns.template]
                + TestRuns.mapping
        }

        let whole = try PipedRun.run(decrypt, into: arguments(folder.path("whole.csv")))
        #expect(whole.status == 0, "\(whole.stderr)")
        let output = folder.path("out.csv")
        let run = try PipedRun.start(decrypt, into: arguments(output))
        TestRuns.waitForCommit(CheckpointStore.defaultPath(forOutput: output), atLeast: Self.records / 2, while: run.consumer)
        let killed = run.consumer.isRunning
        kill(run.consumer.processIdentifier, SIGKILL)
        _ = run.finish()
        #expect(killed, "the run ended before it could be killed")
        let resumed = try PipedRun.run(decrypt, into: arguments(output))
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resum"), "\(resumed.stderr)")
        let tokenized = try #require(FileManager.default.contents(atPath: output))
        #expect(tokenized == FileManager.default.contents(atPath: folder.path("whole.csv")), "the resumed output is the uninterrupted run's, byte for byte")
        #expect(try CSVFiles.read(output).rows.count == Self.records)

        // Nothing on disk but the ciphertext, gpg's home and our files: no card number of the
        // input in any of them.
        let pans = Set((0..<Self.records).map { Array(TestCards.pan($0).utf8) })
        let files = try #require(FileManager.default.subpaths(atPath: folder.path("")))
        for file in files {
            let path = folder.path(file)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                let bytes = FileManager.default.contents(atPath: path).map(Array.init)
            else { continue }
            #expect(file.hasPrefix("gnupg") || file == "cards.csv.gpg" || file.hasPrefix("whole.csv") || file.hasPrefix("out.csv"), "unexpected file \(file)")
            #expect(Self.firstCardNumber(in: bytes, of: pans) == nil, "\(file) holds a card number of the input")
        }
    }

    /// The offset of a run of digits in `bytes` that is one of `numbers`, if any.
    static func firstCardNumber(in bytes: [UInt8], of numbers: Set<[UInt8]>) -> Int? {
        guard let length = numbers.first?.count else { return nil }
        var start = 0
        while start < bytes.count {
            guard (0x30...0x39).contains(bytes[start]) else {
                start += 1
                continue
            }
            var end = start
            while end < bytes.count, (0x30...0x39).contains(bytes[end]) { end += 1 }
            if end - start == length, numbers.contains(Array(bytes[start..<end])) { return start }
            start = end
        }
        return nil
    }
}
