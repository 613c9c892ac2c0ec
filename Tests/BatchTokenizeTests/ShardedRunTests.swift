import Checkpoint
import Foundation
import Testing
import TestSupport

@testable import Pipeline

/// Sharded runs as a user runs them: `plan` first.
@Suite(.serialized) struct ShardedRunTests {

    @Test func planCutsTheSampleIntoShardsThatCoverIt() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let out = folder.path("plan.json")
        let input = ProjectFiles.root + "/samples/cards.csv"
        let outcome = try BinaryLauncher.run(["plan", "--input", input, "--shards", "3", "--out", out, "--endpoint", "local"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("planned 200 records in 3 shards"))
        let plan = try ShardPlan.read(path: out)
        #expect(plan.records == 200 && plan.shards.map(\.records).reduce(0, +) == 200)
        #expect(plan.shards.map(\.records).allSatisfy { (66...67).contains($0) })
        #expect(plan.shards.first?.firstSeq == 0 && plan.shards.first?.line == 2)
        let size = try FileManager.default.attributesOfItem(atPath: input)[.size] as? Int
        #expect(plan.input.format == .csv && plan.input.size == size.map(Int64.init))

        // Without a key (and not for local runs): refused as bad usage, nothing written.
        let refused = try BinaryLauncher.run(["plan", "--input", input, "--shards", "3", "--out", folder.path("other.json")])
        #expect(refused.status == 64)
        #expect(refused.stderr.contains("SCX_API_KEY"))
        #expect(!FileManager.default.fileExists(atPath: folder.path("other.json")))
    }

    static func generate(to path: String) throws {
        try CSVFiles.generateWithRejects(to: path)
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> BinaryLauncher.Outcome {
        try TestRuns.run(arguments, environment: environment)
    }

    /// Each shard run alone writes its records, numbered as in the whole input; `merge` refuses
    /// while a shard is missing, then joins them (the header once) into the output of one run
    /// over the whole file, byte for byte, rejects and all.
    @Test func shardsRunAloneMergeIntoOneRunsOutput() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try Self.generate(to: input)
        let simulator = try SimulatorProcess(["--deterministic-ids"])
        defer { _ = simulator.stop() }
        let single = try Self.run(TestRuns.tokenize(input, simulator.url, folder.path("single.csv")))
        #expect(single.status == 2, "rejects expected: \(single.stderr)")

        let plan = folder.path("plan.json")
        let planned = try Self.run(["plan", "--input", input, "--shards", "3", "--out", plan])
        #expect(planned.status == 0, "\(planned.stderr)")
        let shards = try ShardPlan.read(path: plan).shards
        let output = folder.path("out.csv")
        let merge = ["merge", "--plan", plan, "--output", output, "--report", folder.path("merged.json")]
        for shard in shards {
            var arguments = TestRuns.tokenize(input, simulator.url, output) + ["--plan", plan]
            // The first by --shard, the second as a Kubernetes pod, the third as an AWS Batch child.
            var environment: [String: String] = [:]
            switch shard.index {
            case 0: arguments += ["--shard", "0", "--succeed-with-rejects"]
            case 1:
                environment["JOB_COMPLETION_INDEX"] = "1"
                // The job's rate, divided among the shards; the report shows both.
                // Its report is its own: named after the shard.
                arguments += ["--rate", "30000", "--report", folder.path("report.json")]
            default:
                // Not yet: the merge names the missing shard and writes nothing; status shows each.
                let early = try Self.run(merge)
                #expect(early.status == 1 && early.stderr.contains("shard 2: not started"), "\(early.stderr)")
                #expect(!FileManager.default.fileExists(atPath: output))
                let status = try Self.run(["status", "--plan", plan, "--output", output])
                #expect(status.status == 0, "\(status.stderr)")
                #expect(status.stdout.contains("shard 0 (records 1-\(shards[0].endSeq)): \(shards[0].records) of \(shards[0].records) committed"), "\(status.stdout)")
                #expect(status.stdout.contains("shard 2 (records \(shards[2].firstSeq + 1)-3000): not started"), "\(status.stdout)")
                #expect(status.stdout.contains("not ready to merge"))
                environment["AWS_BATCH_JOB_ARRAY_INDEX"] = "2"
                // And without --input: the plan's.
                let at = try #require(arguments.firstIndex(of: "--input"))
                arguments.removeSubrange(at...(at + 1))
            }
            let outcome = try Self.run(arguments, environment: environment)
            // (Status 0 with --succeed-with-rejects, for a scheduler that retries any other.)
            #expect(outcome.status == (shard.index == 0 ? 0 : 2), "shard \(shard.index): \(outcome.stderr)")
            #expect(outcome.stderr.contains("finished with rejects"), "\(outcome.stderr)")
            #expect(outcome.stderr.contains("the books balance: read \(shard.records)"), "\(outcome.stderr)")
            let path = ShardPlan.shardPath(output: output, index: shard.index)
            #expect(path == folder.path("out.shard-\(shard.index).csv"))
            // Its rejects carry record numbers of the whole input.
            let rejects = try String(contentsOfFile: path + ".rejects.csv", encoding: .utf8).split(separator: "\n").dropFirst()
            let numbers = rejects.compactMap { Int($0.split(separator: ",").first ?? "") }
            #expect(!numbers.isEmpty && numbers.allSatisfy { $0 > shard.firstSeq && $0 <= shard.endSeq && ($0 - 1) % 97 == 5 })
        }
        let ready = try Self.run(["status", "--plan", plan, "--output", output, "--json"])
        let shown = try JSONText.object(ready.stdout)
        #expect((shown["shards"] as? [[String: Any]])?.allSatisfy { $0["complete"] as? Bool == true && $0["problem"] == nil } == true, "\(ready.stdout)")
        let merged = try Self.run(merge)
        #expect(merged.status == 2, "\(merged.stderr)")
        #expect(merged.stdout.contains("the books balance: 3000 records"), "\(merged.stdout)")
        func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: folder.path(path))) }
        #expect(try bytes("out.csv") == bytes("single.csv"))
        #expect(try bytes("out.csv.rejects.csv") == bytes("single.csv.rejects.csv"))
        let report = try JSONText.object(String(decoding: try bytes("merged.json"), as: UTF8.self))
        let books = try #require(report["books"] as? [String: Any])
        #expect(books["records"] as? Int == 3_000 && books["outcomeUnknown"] as? Int == 0)
        let shardReport = try #require(try JSONText.object(String(decoding: try bytes("report.shard-1.json"), as: UTF8.self))["job"] as? [String: Any])
        #expect(shardReport["rate"] as? Double == 10_000 && shardReport["jobRate"] as? Double == 30_000 && shardReport["shard"] as? Int == 1)

        // Detokenize runs by shard too: the tokenized output planned, detokenized in two shards,
        // merged, is one detokenize run's output.
        let detokenize = ["detokenize", "--endpoint", simulator.url, "--template-ref", "438ac8afecdd8035a21c126ee1fe6c19"] + TestRuns.mapping
        let plain = try Self.run(detokenize + ["--input", output, "--output", folder.path("plain.csv")])
        #expect(plain.status == 0, "\(plain.stderr)")
        let tokensPlan = folder.path("tokens-plan.json")
        #expect(try Self.run(["plan", "--input", output, "--shards", "2", "--out", tokensPlan]).status == 0)
        for index in 0..<2 {
            let part = try Self.run(detokenize + ["--plan", tokensPlan, "--shard", String(index), "--output", folder.path("plain-sharded.csv")])
            #expect(part.status == 0, "\(part.stderr)")
        }
        #expect(try Self.run(["merge", "--plan", tokensPlan, "--output", folder.path("plain-sharded.csv")]).status == 0)
        #expect(try bytes("plain-sharded.csv") == bytes("plain.csv"))

        // A shard that is not in the plan, or an input that is not the plan's: refused before anything is sent.
        let outside = try Self.run(TestRuns.tokenize(input, simulator.url, output) + ["--plan", plan, "--shard", "3"])
        #expect(outside.status == 64 && outside.stderr.contains("--shard must be a shard of the plan, 0 to 2"))
        var text = try String(contentsOfFile: input, encoding: .utf8)
        text = text.replacingOccurrences(of: "C0,", with: "X0,")
        try Data(text.utf8).write(to: URL(fileURLWithPath: input))
        let other = try Self.run(TestRuns.tokenize(input, simulator.url, folder.path("other.csv")) + ["--plan", plan, "--shard", "0"])
        #expect(other.status == 64 && other.stderr.contains("not the input of this plan"), "\(other.stderr)")
    }

    /// Eight shards at once against one service with a global rate, two of them killed part-way
    /// and started again (as a Job controller would): the merged output is one run's, byte for
    /// byte, the books balance, and the service was never pushed past the rate.
    @Test func eightShardsAtOnceTwoKilledAndRestartedMergeIntoOneRunsOutput() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try CSVFiles.generate(rows: 16_000, to: input)
        let reference = try SimulatorProcess(["--deterministic-ids"])
        let single = try Self.run(TestRuns.tokenize(input, reference.url, folder.path("single.csv")))
        _ = reference.stop()
        #expect(single.status == 0, "\(single.stderr)")

        // The service throttles above 6,000 requests/s (a second's burst); the job asks for 4,800 in all.
        let simulator = try SimulatorProcess(["--deterministic-ids", "--rate-limit", "6000"])
        defer { _ = simulator.stop() }
        let plan = folder.path("plan.json")
        #expect(try Self.run(["plan", "--input", input, "--shards", "8", "--out", plan]).status == 0)
        let shards = try ShardPlan.read(path: plan).shards
        let output = folder.path("out.csv")
        func arguments(_ index: Int) -> [String] {
            TestRuns.tokenize(input, simulator.url, output) + ["--plan", plan, "--shard", String(index), "--rate", "4800"]
        }
        // The two to be killed start slower (150 requests/s; the rate is not part of the job's
        // identity), so that a loaded machine's test sees them part-way (at 600/s, one finished
        // before its third was seen); they are restarted at the others' rate.
        var running = try shards.map { try TestRuns.start(arguments($0.index) + ([2, 5].contains($0.index) ? ["--rate-per-shard", "150"] : [])).process }
        for index in [2, 5] {
            let checkpoint = CheckpointStore.defaultPath(forOutput: ShardPlan.shardPath(output: output, index: index))
            TestRuns.waitForCommit(checkpoint, atLeast: shards[index].firstSeq + shards[index].records / 3, while: running[index])
            #expect(running[index].isRunning, "shard \(index) was to be killed part-way")
            kill(running[index].processIdentifier, SIGKILL)
            running[index].waitUntilExit()
            running[index] = try TestRuns.start(arguments(index)).process
        }
        for (index, process) in running.enumerated() {
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "shard \(index) exited with \(process.terminationStatus)")
        }
        let merged = try Self.run(["merge", "--plan", plan, "--output", output])
        #expect(merged.status == 0, "\(merged.stderr)")
        #expect(merged.stdout.contains("done: 16000") && merged.stdout.contains("the books balance: 16000 records"), "\(merged.stdout)")
        let want = try Data(contentsOf: URL(fileURLWithPath: folder.path("single.csv")))
        #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == want)
        let counters = simulator.stop()
        #expect(!counters.contains("1429:"), "the service never throttled: \(counters)")
    }
}
