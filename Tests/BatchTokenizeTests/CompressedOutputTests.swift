import Checkpoint
import Foundation
import Testing
import TestSupport

/// gzip outputs end to end: an output (and a rejects file) named `.gz` is written as gzip, a
/// member per commit; killed any number of times and resumed, it reads (with GNU gzip) as the
/// plain output of an uninterrupted run, byte for byte; resumed under the other name, refused.
/// The kills alternate the deflater (libdeflate, whose points end members, and zlib, whose points
/// are sync flushes inside one): each takes up what the other left.
@Suite(.serialized) struct CompressedOutputTests {
    static func contents(_ path: String) throws -> [UInt8] {
        Array(try #require(FileManager.default.contents(atPath: path)))
    }

    @Test func killedAndResumedGzipOutputsReadAsThePlainOutput() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess(["--deterministic-ids", "--latency-ms", "1"])
        defer { _ = simulator.stop() }
        let input = folder.path("cards.csv")
        try CSVFiles.generate(rows: 50_000, to: input)
        let whole = try TestRuns.run(TestRuns.tokenize(input, simulator.url, folder.path("whole.csv")) + ["--rejects", folder.path("whole.rejects.csv")])
        #expect(whole.status == 0, "\(whole.stderr)")

        let output = folder.path("out.csv.gz")
        let rejects = folder.path("out.rejects.csv.gz")
        let checkpoint = CheckpointStore.defaultPath(forOutput: output)
        let arguments = TestRuns.tokenize(input, simulator.url, output) + ["--rejects", rejects]
        var kills = 0
        var lastCommitted = -1
        while kills < 6 {
            let deflater = kills % 2 == 0 ? "libdeflate" : "zlib"
            let (process, stderr) = try TestRuns.start(arguments, environment: ["BATCH_TOKENIZE_DEFLATE": deflater])
            TestRuns.waitForCommit(checkpoint, atLeast: lastCommitted + 3_000 + Int.random(in: 0...3_000), while: process)
            let running = process.isRunning
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let log = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            // A resume takes up from the lines written past the commit point (their member's end).
            #expect(!log.contains("ends before the last written point"), "\(log)")
            guard running else { break }
            kills += 1
            // The committed part is whole gzip: it reads as the plain output's first records.
            let point = try #require(try CheckpointStore.summary(path: checkpoint).commitPoint)
            #expect(point.seq > lastCommitted)
            lastCommitted = point.seq
            let committed = try GzipTool.decompress(Array(try Self.contents(output).prefix(Int(point.outputOffset))))
            let plain = try Self.contents(folder.path("whole.csv"))
            #expect(Array(plain.prefix(committed.count)) == committed, "the committed part is the plain output's beginning")
        }
        #expect(kills >= 3, "the run was killed \(kills) times")
        let last = try TestRuns.run(arguments)
        #expect(last.status == 0, "\(last.stderr)")
        #expect(!last.stderr.contains("ends before the last written point"), "\(last.stderr)")
        // (The folder's name is not compared: a run of digits in its random part can be masked as a card number.)
        #expect(last.stderr.contains("/out.csv.gz (gzip)\n") && last.stderr.contains("/out.rejects.csv.gz (gzip)"), "\(last.stderr)")
        let compressed = try Self.contents(output)
        #expect(compressed.starts(with: [0x1F, 0x8B]))
        #expect(try GzipTool.decompress(compressed) == Self.contents(folder.path("whole.csv")), "zcat of the output is the plain output, byte for byte")
        #expect(try GzipTool.decompress(Self.contents(rejects)) == Self.contents(folder.path("whole.rejects.csv")))
        // The committed length is the file's.
        let summary = try CheckpointStore.summary(path: checkpoint)
        #expect(summary.complete && summary.commitPoint?.outputOffset == Int64(compressed.count))
    }

    /// An output begun as `x.csv.gz` and resumed as `x.csv` (or the other way) is refused with the
    /// fix named, nothing sent and the checkpoint left as it was.
    @Test func aGzipOutputResumedUnderAnotherNameIsRefused() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess(["--deterministic-ids", "--latency-ms", "2"])
        defer { _ = simulator.stop() }
        let input = folder.path("cards.csv")
        try CSVFiles.generate(rows: 30_000, to: input)
        let output = folder.path("out.csv.gz")
        let checkpoint = CheckpointStore.defaultPath(forOutput: output)
        let (process, stderr) = try TestRuns.start(TestRuns.tokenize(input, simulator.url, output))
        TestRuns.waitForCommit(checkpoint, atLeast: 3_000, while: process)
        let killed = process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        _ = stderr.fileHandleForReading.readDataToEndOfFile()
        #expect(killed, "the run ended before it could be killed")
        let before = try CheckpointStore.summary(path: checkpoint)

        // The default checkpoint of the other name: the unfinished one is named.
        let plain = folder.path("out.csv")
        let renamed = try TestRuns.run(TestRuns.tokenize(input, simulator.url, plain))
        #expect(renamed.status != 0 && renamed.stderr.contains("give --output ") && renamed.stderr.contains("/out.csv.gz again"), "\(renamed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: plain))
        // The same checkpoint given: another job (the output's compression differs).
        let given = try TestRuns.run(TestRuns.tokenize(input, simulator.url, plain) + ["--checkpoint", checkpoint])
        #expect(given.status != 0 && given.stderr.contains("outputCompression"), "\(given.stderr)")
        #expect(try CheckpointStore.summary(path: checkpoint) == before, "the checkpoint is intact")
        let resumed = try TestRuns.run(TestRuns.tokenize(input, simulator.url, output))
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try CSVFiles.read(Self.unzipped(output, in: folder)).rows.count == 30_000)
    }

    /// Shards writing gzip merge into a gzip output that reads as one plain run's output (the
    /// header once: the shards after the first are inflated past theirs).
    @Test func shardsWritingGzipMergeIntoOneRunsOutput() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess(["--deterministic-ids"])
        defer { _ = simulator.stop() }
        let input = folder.path("cards.csv")
        try CSVFiles.generateWithRejects(to: input)
        let single = try TestRuns.run(TestRuns.tokenize(input, simulator.url, folder.path("single.csv")))
        #expect(single.status == 2, "rejects expected: \(single.stderr)")
        let plan = folder.path("plan.json")
        #expect(try TestRuns.run(["plan", "--input", input, "--shards", "3", "--out", plan]).status == 0)
        let output = folder.path("out.csv.gz")
        for shard in 0..<3 {
            let run = try TestRuns.run(TestRuns.tokenize(input, simulator.url, output) + ["--plan", plan, "--shard", String(shard)])
            #expect(run.status == 2, "shard \(shard): \(run.stderr)")
        }
        let merged = try TestRuns.run(["merge", "--plan", plan, "--output", output])
        #expect(merged.status == 2, "\(merged.stderr)")
        #expect(try GzipTool.decompress(Self.contents(output)) == Self.contents(folder.path("single.csv")))
        #expect(try Self.contents(output + ".rejects.csv") == Self.contents(folder.path("single.csv.rejects.csv")))
    }

    static func unzipped(_ path: String, in folder: TestFolder) throws -> String {
        let plain = folder.path("unzipped-\(UUID().uuidString).csv")
        try Data(try GzipTool.decompress(try contents(path))).write(to: URL(fileURLWithPath: plain))
        return plain
    }
}
