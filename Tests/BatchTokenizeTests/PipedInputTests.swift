import Checkpoint
import Foundation
import Testing
import TestSupport

/// `--input -`: a job reads standard input from a pipe; killed, it is resumed by running the
/// same pipeline again (the stream read and dropped up to the commit point, its digest checked);
/// another stream is refused before any record is sent.
@Suite(.serialized) struct PipedInputTests {
    static func arguments(_ url: String, _ output: String, name: String = "cards.csv") -> [String] {
        ["run", "--endpoint", url, "--input", "-", "--input-name", name, "--output", output, "--template-ref", TestRuns.template] + TestRuns.mapping
    }

    @Test func aKilledPipedRunResumesFromTheSamePipelineAndRefusesAnother() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess(["--deterministic-ids", "--latency-ms", "2"])
        defer { _ = simulator.stop() }
        let input = folder.path("cards.csv")
        try CSVFiles.generate(rows: 40_000, to: input)
        let cat = ["/bin/cat", input]
        let whole = try PipedRun.run(cat, into: Self.arguments(simulator.url, folder.path("whole.csv")))
        #expect(whole.status == 0, "\(whole.stderr)")
        #expect(whole.stderr.contains("input: standard input (cards.csv)"), "\(whole.stderr)")

        let output = folder.path("out.csv")
        let checkpoint = CheckpointStore.defaultPath(forOutput: output)
        let run = try PipedRun.start(cat, into: Self.arguments(simulator.url, output))
        TestRuns.waitForCommit(checkpoint, atLeast: 8_000, while: run.consumer)
        let killed = run.consumer.isRunning
        kill(run.consumer.processIdentifier, SIGKILL)
        _ = run.finish()
        #expect(killed, "the run ended before it could be killed")
        let before = try CheckpointStore.summary(path: checkpoint)
        let point = try #require(before.commitPoint)
        #expect(point.inputDigest != nil, "the commit point holds the stream's digest")

        // Another stream (one record early on changed): refused, nothing sent, the checkpoint as it was.
        var text = try String(contentsOfFile: input, encoding: .utf8)
        text = text.replacingOccurrences(of: "\nC5,", with: "\nX5,")
        try Data(text.utf8).write(to: URL(fileURLWithPath: folder.path("other.csv")))
        let written = FileManager.default.contents(atPath: output)
        let other = try PipedRun.run(["/bin/cat", folder.path("other.csv")], into: Self.arguments(simulator.url, output))
        #expect(other.status != 0 && other.stderr.contains("is not the stream this job began with"), "\(other.stderr)")
        #expect(FileManager.default.contents(atPath: output) == written, "nothing was written")
        // A shorter one: refused the same way.
        let short = try PipedRun.run(["/usr/bin/head", "-c", "1000", input], into: Self.arguments(simulator.url, output))
        #expect(short.status != 0 && short.stderr.contains("is not the stream this job began with"), "\(short.stderr)")
        #expect(try CheckpointStore.summary(path: checkpoint).commitPoint == point, "the checkpoint is intact")

        // The same pipeline: resumed, and the output is the uninterrupted run's, byte for byte.
        let resumed = try PipedRun.run(cat, into: Self.arguments(simulator.url, output))
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resum"), "\(resumed.stderr)")
        #expect(FileManager.default.contents(atPath: output) == FileManager.default.contents(atPath: folder.path("whole.csv")))
    }

    /// A stream cut inside a record stops the job after the records before it (never a shorter
    /// last record); a gzip stream is inflated; the options that do not fit a stream, and a
    /// terminal in place of one, are refused.
    @Test func streamsCutShortCompressedOrMisusedAreHandled() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess(["--deterministic-ids"])
        defer { _ = simulator.stop() }
        let input = folder.path("cards.csv")
        try CSVFiles.generate(rows: 3_000, to: input)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: input)[.size] as? Int)
        let cut = try PipedRun.run(["/usr/bin/head", "-c", String(size - 7), input], into: Self.arguments(simulator.url, folder.path("cut.csv")))
        #expect(cut.status == 1 && cut.stderr.contains("standard input ended inside a record"), "\(cut.stderr)")
        let rows = try CSVFiles.read(folder.path("cut.csv")).rows
        #expect(rows.count == 2_999, "every record before the cut one, and not it")

        let gzip = try PipedRun.run(["/usr/bin/gzip", "-c", input], into: Self.arguments(simulator.url, folder.path("gz.csv")))
        #expect(gzip.status == 0, "\(gzip.stderr)")
        let plain = try PipedRun.run(["/bin/cat", input], into: Self.arguments(simulator.url, folder.path("plain.csv")))
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(FileManager.default.contents(atPath: folder.path("gz.csv")) == FileManager.default.contents(atPath: folder.path("plain.csv")))

        var noName = Self.arguments(simulator.url, folder.path("x.csv"))
        noName.removeSubrange(noName.firstIndex(of: "--input-name")!...(noName.firstIndex(of: "--input-name")! + 1))
        let unnamed = try PipedRun.run(["/bin/cat", input], into: noName)
        #expect(unnamed.status == 64 && unnamed.stderr.contains("--input - needs --input-name"), "\(unnamed.stderr)")
        let unformatted = try PipedRun.run(["/bin/cat", input], into: Self.arguments(simulator.url, folder.path("x.csv"), name: "cards"))
        #expect(unformatted.status == 64 && unformatted.stderr.contains("--format"), "\(unformatted.stderr)")
        let planned = try PipedRun.run(["/bin/cat", input], into: ["plan", "--input", "-", "--shards", "2", "--out", folder.path("plan.json")])
        #expect(planned.status == 64 && planned.stderr.contains("plan does not read standard input"), "\(planned.stderr)")

        // A terminal on standard input (util-linux `script` gives the run one): refused, naming the pipe.
        let command = ([BinaryLauncher.binary] + Self.arguments(simulator.url, folder.path("tty.csv"))).map { "'\($0)'" }.joined(separator: " ")
        let terminal = Process()
        terminal.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        terminal.arguments = ["-qec", command, "/dev/null"]
        terminal.environment = BinaryLauncher.environment(["SCX_API_KEY": TestKeys.simulator])
        terminal.standardInput = FileHandle.nullDevice
        let seen = Pipe()
        terminal.standardOutput = seen
        terminal.standardError = seen
        try terminal.run()
        let said = String(decoding: seen.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        terminal.waitUntilExit()
        #expect(terminal.terminationStatus == 64 && said.contains("which is a terminal here: pipe the data in"), "\(said)")
        #expect(!FileManager.default.fileExists(atPath: folder.path("tty.csv")))
    }
}
