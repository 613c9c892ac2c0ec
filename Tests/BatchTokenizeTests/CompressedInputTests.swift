import Checkpoint
import Foundation
import Pipeline
import Testing
import TestSupport

/// gzip inputs end to end: `run`, `detokenize` and `--dry-run` read them as
/// the plain file; a kill and a resume inflate up to the commit point; a stream cut short stops
/// the job after the records before it, naming the record.
@Suite(.serialized) struct CompressedInputTests {
    /// The rows of a tokenized output without their bfids (the simulator draws a new one for
    /// every request).
    static func withoutBfids(_ path: String) throws -> [[String]] {
        let file = try CSVFiles.read(path)
        let bfid = file.header.firstIndex(of: "bfid")
        guard let bfid else { return [file.header] + file.rows }
        return ([file.header] + file.rows).map { row in row.enumerated().filter { $0.offset != bfid }.map(\.element) }
    }

    static func gzip(_ path: String, to compressed: String) throws {
        let plain = try #require(FileManager.default.contents(atPath: path))
        try Data(try GzipTool.compress(Array(plain))).write(to: URL(fileURLWithPath: compressed))
    }

    @Test func everyCommandReadsAGzipInputAsThePlainFile() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess(["--deterministic-ids"])
        defer { _ = simulator.stop() }
        let input = folder.path("cards.csv")
        try CSVFiles.generateWithRejects(to: input)
        try Self.gzip(input, to: folder.path("cards.csv.gz"))
        let plain = try TestRuns.run(TestRuns.tokenize(input, simulator.url, folder.path("plain.out.csv")) + ["--succeed-with-rejects"])
        #expect(plain.status == 0, "\(plain.stderr)")
        let report = folder.path("report.json")
        let compressed = try TestRuns.run(
            TestRuns.tokenize(folder.path("cards.csv.gz"), simulator.url, folder.path("gz.out.csv")) + ["--succeed-with-rejects", "--report", report]
        )
        #expect(compressed.status == 0, "\(compressed.stderr)")
        // (The folder's name is not compared: a run of digits in its random part can be masked as a card number.)
        #expect(compressed.stderr.contains("/cards.csv.gz (gzip)") && compressed.stderr.contains("input: "), "\(compressed.stderr)")
        let job = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any])["job"] as? [String: Any]
        #expect(job?["inputCompression"] as? String == "gzip")
        #expect(try Self.withoutBfids(folder.path("gz.out.csv")) == Self.withoutBfids(folder.path("plain.out.csv")))
        #expect(FileManager.default.contents(atPath: folder.path("gz.out.csv.rejects.csv")) == FileManager.default.contents(atPath: folder.path("plain.out.csv.rejects.csv")))

        // The tokenized output, compressed, is detokenized as the plain one.
        try Self.gzip(folder.path("gz.out.csv"), to: folder.path("tokens.csv.gz"))
        let detokenized = try TestRuns.run(
            ["detokenize", "--endpoint", simulator.url, "--input", folder.path("tokens.csv.gz"), "--output", folder.path("back.csv"),
             "--template-ref", TestRuns.template, "--succeed-with-rejects"] + TestRuns.mapping
        )
        #expect(detokenized.status == 0, "\(detokenized.stderr)")
        let back = try CSVFiles.read(folder.path("back.csv"))
        let original = try CSVFiles.read(input)
        #expect(back.rows.count == original.rows.count - 31, "the records with no card number are rejects")
        #expect(Set(back.rows.map { $0[1] }).isSubset(of: Set(original.rows.map { $0[1] })))
        // A dry run maps every record.
        let dry = try TestRuns.run(
            ["run", "--input", folder.path("cards.csv.gz"), "--output", folder.path("dry.csv"), "--template-ref", TestRuns.template, "--dry-run"]
                + TestRuns.mapping
        )
        #expect(dry.status == 0 && dry.stdout.contains("3000"), "\(dry.stdout)\(dry.stderr)")
        // verify reads the gzip input and a gzip output as the plain files.
        let zipped = try TestRuns.run(
            TestRuns.tokenize(folder.path("cards.csv.gz"), simulator.url, folder.path("gz.out.csv.gz")) + ["--succeed-with-rejects"]
        )
        #expect(zipped.status == 0, "\(zipped.stderr)")
        let verify = try TestRuns.run(
            ["verify", "--endpoint", simulator.url, "--input", folder.path("cards.csv.gz"), "--output", folder.path("gz.out.csv.gz"),
             "--template-ref", TestRuns.template, "--sample", "40"] + TestRuns.mapping
        )
        #expect(verify.status == 0 && verify.stdout.contains("sampled: 40"), "\(verify.stdout)\(verify.stderr)")
    }

    /// plan cuts a gzip input, of one member or many, into shards that merge into one run's
    /// output; with members, each shard starts inflating at the member before its first record.
    @Test func aGzipInputIsPlannedIntoShardsThatMergeIntoOneRunsOutput() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess(["--deterministic-ids"])
        defer { _ = simulator.stop() }
        let input = folder.path("cards.csv")
        try CSVFiles.generate(rows: 6_000, to: input)
        let plain = try #require(FileManager.default.contents(atPath: input))
        try Data(try GzipTool.compress(Array(plain))).write(to: URL(fileURLWithPath: folder.path("one.csv.gz")))
        // Members of 40,000 bytes each, cut anywhere (inside records too), as pigz -i or bgzip make them.
        try Data(try GzipTool.compress(Array(plain), membersOf: 40_000)).write(to: URL(fileURLWithPath: folder.path("many.csv.gz")))
        for name in ["one.csv.gz", "many.csv.gz"] {
            let compressed = folder.path(name)
            let single = try TestRuns.run(TestRuns.tokenize(compressed, simulator.url, folder.path("\(name).single.csv")))
            #expect(single.status == 0, "\(single.stderr)")
            let plan = folder.path("\(name).plan.json")
            let planned = try TestRuns.run(["plan", "--input", compressed, "--shards", "4", "--out", plan])
            #expect(planned.status == 0 && planned.stdout.contains("gzip input"), "\(planned.stdout)\(planned.stderr)")
            let shards = try ShardPlan.read(path: plan).shards
            if name == "many.csv.gz" {
                #expect(shards.dropFirst().allSatisfy { $0.member != nil }, "each shard after the first starts at a member")
            } else {
                #expect(shards.allSatisfy { $0.member == nil } && planned.stdout.contains("recompress with members"), "\(planned.stdout)")
            }
            let output = folder.path("\(name).sharded.csv")
            for shard in shards {
                let run = try TestRuns.run(TestRuns.tokenize(compressed, simulator.url, output) + ["--plan", plan, "--shard", String(shard.index)])
                #expect(run.status == 0, "shard \(shard.index): \(run.stderr)")
            }
            let merged = try TestRuns.run(["merge", "--plan", plan, "--output", output])
            #expect(merged.status == 0, "\(merged.stderr)")
            #expect(FileManager.default.contents(atPath: output) == FileManager.default.contents(atPath: folder.path("\(name).single.csv")))
        }
    }

    /// Killed after a commit, resumed: the run inflates up to its commit point and goes on;
    /// the output equals an uninterrupted run's (but for the bfids the simulator draws).
    @Test func aKilledRunOnAGzipInputResumesWhereItStopped() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess(["--deterministic-ids", "--latency-ms", "2"])
        defer { _ = simulator.stop() }
        let input = folder.path("cards.csv")
        try CSVFiles.generate(rows: 40_000, to: input)
        try Self.gzip(input, to: folder.path("cards.csv.gz"))
        let whole = try TestRuns.run(TestRuns.tokenize(input, simulator.url, folder.path("whole.csv")))
        #expect(whole.status == 0, "\(whole.stderr)")
        let output = folder.path("out.csv")
        let arguments = TestRuns.tokenize(folder.path("cards.csv.gz"), simulator.url, output)
        let (process, stderr) = try TestRuns.start(arguments)
        TestRuns.waitForCommit(CheckpointStore.defaultPath(forOutput: output), atLeast: 8_000, while: process)
        let killed = process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        _ = stderr.fileHandleForReading.readDataToEndOfFile()
        #expect(killed, "the run ended before it could be killed")
        let resumed = try TestRuns.run(arguments)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resum"), "\(resumed.stderr)")
        #expect(try Self.withoutBfids(output) == Self.withoutBfids(folder.path("whole.csv")))
    }

    /// Cut short: the job stops with the record it stopped at; the records before it are
    /// finished and written, in order.
    @Test func aGzipInputCutShortStopsAfterTheWholeRecords() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess()
        defer { _ = simulator.stop() }
        let input = folder.path("cards.csv")
        try CSVFiles.generate(rows: 20_000, to: input)
        let compressed = try GzipTool.compress(Array(try #require(FileManager.default.contents(atPath: input))))
        try Data(compressed.prefix(compressed.count * 2 / 3)).write(to: URL(fileURLWithPath: folder.path("cut.csv.gz")))
        let output = folder.path("out.csv")
        let cut = try TestRuns.run(TestRuns.tokenize(folder.path("cut.csv.gz"), simulator.url, output))
        #expect(cut.status == 1, "\(cut.stderr)")
        let stopped = try #require(cut.stderr.firstMatch(of: /the input stops at record (\d+)/).flatMap { Int($0.1) }, "\(cut.stderr)")
        #expect(cut.stderr.contains("ends early"), "\(cut.stderr)")
        let rows = try CSVFiles.read(output).rows
        #expect(rows.count == stopped && stopped > 5_000, "\(rows.count) rows, stopped at \(stopped)")
        #expect(rows.enumerated().allSatisfy { $0.element[0] == "C\($0.offset)" })
    }
}
