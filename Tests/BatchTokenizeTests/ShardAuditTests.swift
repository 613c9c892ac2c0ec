import Checkpoint
import Foundation
import Testing
import TestSupport

@testable import Pipeline

/// The second audit's sharding findings, as a careless operator, a tampered file or a hand-edited
/// plan would produce them: `merge` refuses shard files that are not what their checkpoints
/// committed and shards that ran another job; no command writes over a file it reads; shards
/// refuse an input edited across their boundaries; per-run files are each shard's own.
@Suite(.serialized) struct ShardAuditTests {

    /// A folder with `cards.csv` (3,000 records, some rejects), its plan in 3 shards, and the shards
    /// run (with `extra` options) against a fresh simulator: what merge is then given.
    struct RanPlan {
        let folder: TestFolder
        let input: String
        let plan: String
        let output: String
        let shards: [ShardPlan.Shard]

        func path(_ name: String) -> String { folder.path(name) }
        func shardOutput(_ index: Int) -> String { ShardPlan.shardPath(output: output, index: index) }
        func merge(_ extra: [String] = []) throws -> BinaryLauncher.Outcome {
            try TestRuns.run(["merge", "--plan", plan, "--output", output] + extra)
        }
    }

    static func ranPlan(shardArguments: (Int, TestFolder) -> [String] = { _, _ in [] }) throws -> RanPlan {
        let folder = try TestFolder()
        let input = folder.path("cards.csv")
        try CSVFiles.generateWithRejects(to: input)
        let plan = folder.path("plan.json")
        let planned = try TestRuns.run(["plan", "--input", input, "--shards", "3", "--out", plan])
        #expect(planned.status == 0, "\(planned.stderr)")
        let simulator = try SimulatorProcess(["--deterministic-ids"])
        defer { _ = simulator.stop() }
        let output = folder.path("out.csv")
        let shards = try ShardPlan.read(path: plan).shards
        for shard in shards {
            let extra = shardArguments(shard.index, folder)
            var arguments = TestRuns.tokenize(input, simulator.url, output)
            // A mapping of its own replaces the usual three fields.
            if extra.contains("--map") { arguments.removeLast(TestRuns.mapping.count) }
            let ran = try TestRuns.run(arguments + ["--plan", plan, "--shard", String(shard.index), "--succeed-with-rejects"] + extra)
            #expect(ran.status == 0, "shard \(shard.index): \(ran.stderr)")
        }
        return RanPlan(folder: folder, input: input, plan: plan, output: output, shards: shards)
    }

    /// Merge refuses (exit 1, the shard named, nothing written) a shard output cut after its run,
    /// replaced by a symlink to the input, replaced by a copy, or swapped with another shard's.
    @Test func mergeRefusesShardFilesThatAreNotWhatTheShardCommitted() throws {
        let ran = try Self.ranPlan()
        defer { ran.folder.remove() }
        let manager = FileManager.default
        func refused(_ form: String, shard: Int) throws {
            let merged = try ran.merge()
            // (A symlink to the input is refused as usage: the input and the shard's output are one file.)
            #expect(merged.status == 1 || merged.status == 64, "\(form): \(merged.stdout) \(merged.stderr)")
            #expect(merged.stderr.contains("shard \(shard):") || merged.stderr.contains("shard \(shard)'s output"), "\(form): \(merged.stderr)")
            #expect(!manager.fileExists(atPath: ran.output), "\(form): nothing is written")
            #expect(!merged.stdout.contains("the books balance"), "\(form)")
        }
        let one = ran.shardOutput(1)
        let saved = ran.path("saved.csv")
        try manager.moveItem(atPath: one, toPath: saved)

        // Cut: its first 50 lines, as `head -n 50 > x && mv x` leaves it (a new file, shorter).
        let lines = try String(contentsOfFile: saved, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        try Data((lines.prefix(50).joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: one))
        try refused("cut", shard: 1)
        // A symlink to the input (plaintext card numbers).
        try manager.removeItem(atPath: one)
        try manager.createSymbolicLink(atPath: one, withDestinationPath: ran.input)
        try refused("symlink to the input", shard: 1)
        // A byte-identical copy (another file: its inode is not the one committed).
        try manager.removeItem(atPath: one)
        try manager.copyItem(atPath: saved, toPath: one)
        try refused("copy", shard: 1)
        try manager.removeItem(atPath: one)
        try manager.moveItem(atPath: saved, toPath: one)
        // The original file, cut in place (same inode).
        let handle = try #require(FileHandle(forUpdatingAtPath: one))
        let size = try handle.seekToEnd()
        try handle.truncate(atOffset: size - 10)
        try handle.close()
        try refused("cut in place", shard: 1)
    }

    /// Two shards' outputs swapped by rename: both refused.
    @Test func mergeRefusesSwappedShardOutputs() throws {
        let ran = try Self.ranPlan()
        defer { ran.folder.remove() }
        let manager = FileManager.default
        try manager.moveItem(atPath: ran.shardOutput(0), toPath: ran.path("x"))
        try manager.moveItem(atPath: ran.shardOutput(2), toPath: ran.shardOutput(0))
        try manager.moveItem(atPath: ran.path("x"), toPath: ran.shardOutput(2))
        let merged = try ran.merge()
        #expect(merged.status == 1 && merged.stderr.contains("shard 0:") && merged.stderr.contains("shard 2:"), "\(merged.stderr)")
        #expect(!manager.fileExists(atPath: ran.output))
        // Put back, the merge goes through: the books balance.
        try manager.moveItem(atPath: ran.shardOutput(0), toPath: ran.path("x"))
        try manager.moveItem(atPath: ran.shardOutput(2), toPath: ran.shardOutput(0))
        try manager.moveItem(atPath: ran.path("x"), toPath: ran.shardOutput(2))
        let good = try ran.merge()
        #expect(good.status == 2 && good.stdout.contains("the books balance: 3000 records"), "\(good.stderr)")
    }

    /// A shard run with another mapping (only the card number: the CVV left in plaintext) is
    /// refused by merge, with what differs.
    @Test func mergeRefusesShardsThatRanAnotherJob() throws {
        let ran = try Self.ranPlan { index, _ in index == 1 ? ["--map", "card_number=card_number"] : [] }
        defer { ran.folder.remove() }
        let merged = try ran.merge()
        #expect(merged.status == 1, "\(merged.stdout)")
        #expect(merged.stderr.contains("shard 1: it ran another job than shard 0") && merged.stderr.contains("mapping"), "\(merged.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ran.output))
    }

    /// No command writes over a file it reads: plan over its input, a shard's merged output over
    /// the input, merge's output, rejects and report over the input or the plan, a shard's report
    /// over the plan. Each refused as usage (64), the file untouched.
    @Test func noCommandWritesOverAFileItReads() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try CSVFiles.generateWithRejects(to: input)
        let original = try Data(contentsOf: URL(fileURLWithPath: input))
        let plan = folder.path("plan.json")
        #expect(try TestRuns.run(["plan", "--input", input, "--shards", "2", "--out", plan]).status == 0)
        let planBytes = try Data(contentsOf: URL(fileURLWithPath: plan))
        let simulator = try SimulatorProcess(["--deterministic-ids"])
        defer { _ = simulator.stop() }
        let shard = ["--plan", plan, "--shard", "0"]
        let attempts: [(String, [String])] = [
            ("plan --out = input", ["plan", "--input", input, "--shards", "2", "--out", input]),
            ("run --plan --output = input", TestRuns.tokenize(input, simulator.url, input) + shard),
            ("run --config = --report", TestRuns.tokenize(input, simulator.url, folder.path("out.csv")) + ["--report", plan, "--config", plan]),
            ("merge --output = input", ["merge", "--plan", plan, "--output", input]),
            ("merge --report = input", ["merge", "--plan", plan, "--output", folder.path("out.csv"), "--report", input]),
            ("merge --rejects = plan", ["merge", "--plan", plan, "--output", folder.path("out.csv"), "--rejects", plan]),
        ]
        for (name, arguments) in attempts {
            let outcome = try TestRuns.run(arguments)
            #expect(outcome.status == 64, "\(name): \(outcome.status) \(outcome.stderr)")
            #expect(outcome.stderr.contains("are the same file"), "\(name): \(outcome.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: input)) == original, "\(name): the input is untouched")
            #expect(try Data(contentsOf: URL(fileURLWithPath: plan)) == planBytes, "\(name): the plan is untouched")
        }
        // A shard's report named as the plan goes to a file named after the shard: the plan stays.
        let shardReport = try TestRuns.run(TestRuns.tokenize(input, simulator.url, folder.path("out.csv")) + shard + ["--report", plan])
        #expect(shardReport.status == 2, "\(shardReport.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: plan)) == planBytes)
        #expect(FileManager.default.fileExists(atPath: ShardPlan.shardPath(output: plan, index: 0)))
    }

    /// The input edited in place between plan and runs (ten bytes inserted before shard 1's
    /// start, ten removed after it, same size, far from the fingerprinted first and last MiB):
    /// shard 0 and shard 1 refuse to start, nothing sent; a hand-edited plan is refused by run and
    /// status, never a crash.
    @Test func shardsRefuseAnInputEditedAcrossTheirBoundariesAndAHandEditedPlan() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try CSVFiles.generate(rows: 150_000, to: input)
        let plan = folder.path("plan.json")
        #expect(try TestRuns.run(["plan", "--input", input, "--shards", "3", "--out", plan]).status == 0)
        let shards = try ShardPlan.read(path: plan).shards
        let text = try String(contentsOfFile: plan, encoding: .utf8)
        let pristine = Array(try Data(contentsOf: URL(fileURLWithPath: input)))
        var bytes = pristine
        let size = bytes.count
        let boundary = Int(shards[1].offset)
        #expect(boundary > (1 << 20) + 10_000 && size - boundary > (1 << 20) + 10_000, "the edit is outside the fingerprinted MiBs")
        let before = bytes[..<(boundary - 5_000)].lastIndex(of: UInt8(ascii: ","))!
        bytes.insert(contentsOf: Array("9999999999".utf8), at: before)
        let after = bytes[(boundary + 5_000)...].firstIndex(of: UInt8(ascii: ","))!
        bytes.removeSubrange((after - 10)..<after)
        #expect(bytes.count == size)
        try Data(bytes).write(to: URL(fileURLWithPath: input))
        let simulator = try SimulatorProcess(["--deterministic-ids"])
        defer { _ = simulator.stop() }
        let output = folder.path("out.csv")
        for index in 0..<2 {
            let outcome = try TestRuns.run(TestRuns.tokenize(input, simulator.url, output) + ["--plan", plan, "--shard", String(index)])
            #expect(outcome.status == 64, "shard \(index): \(outcome.stderr)")
            #expect(outcome.stderr.contains("not the input this plan was made for at shard"), "shard \(index): \(outcome.stderr)")
            #expect(!FileManager.default.fileExists(atPath: ShardPlan.shardPath(output: output, index: index)))
        }

        let counters = simulator.stop()
        #expect(!counters.contains("tokenize:"), "nothing was sent: \(counters)")

        // Edited inside shard 0, its boundaries untouched (one comma turned into a line break,
        // the size unchanged): shard 0 now holds a record more than the plan says. It stops at the
        // plan's last record, finds that the next does not start where shard 1 starts, and fails
        // after committing what it finished, rather than leave a record in neither shard.
        var inner = pristine
        let spot = inner[((1 << 20) + 5_000)...].firstIndex(of: UInt8(ascii: ","))!
        #expect(spot < boundary - 5_000)
        inner[spot] = UInt8(ascii: "\n")
        try Data(inner).write(to: URL(fileURLWithPath: input))
        try Data(text.utf8).write(to: URL(fileURLWithPath: plan))
        let second = try SimulatorProcess(["--deterministic-ids"])
        defer { _ = second.stop() }
        let shifted = try TestRuns.run(TestRuns.tokenize(input, second.url, output) + ["--plan", plan, "--shard", "0"])
        #expect(shifted.status == 1, "\(shifted.stderr)")
        #expect(shifted.stderr.contains("does not end where the plan says the next shard starts"), "\(shifted.stderr)")

        // Hand-edited plans: refused by run and status --plan with a message, never a trap.
        for (name, edit) in [("offset -5", "\"offset\" : -5"), ("records Int.max", "\"records\" : 9223372036854775807")] {
            let key = edit.components(separatedBy: " : ")[0]
            let range = try #require(text.range(of: key + " : [0-9]+", options: .regularExpression))
            let edited = text.replacingCharacters(in: range, with: edit)
            try Data(edited.utf8).write(to: URL(fileURLWithPath: plan))
            let run = try TestRuns.run(TestRuns.tokenize(input, simulator.url, output) + ["--plan", plan, "--shard", "0"])
            #expect(run.status == 64 && run.stderr.contains("not a usable plan"), "\(name): \(run.status) \(run.stderr)")
            let status = try TestRuns.run(["status", "--plan", plan, "--output", output])
            #expect(status.status == 64 && status.stderr.contains("not a usable plan"), "\(name): \(status.status) \(status.stderr)")
            try Data(text.utf8).write(to: URL(fileURLWithPath: plan))
        }
    }

    /// `--rejects`, `--checkpoint`, `--report` and `--metrics-file` given to every shard (and a job
    /// file's `output.rejects`): each shard writes its own, named after it; run one after another
    /// nothing is lost, and merge joins every reject line. A fresh shard says nothing of records
    /// finished by earlier runs, and its metrics carry its shard.
    @Test func explicitFilesAreEachShardsOwn() throws {
        let ran = try Self.ranPlan { _, folder in
            [
                "--rejects", folder.path("rejects.csv"), "--checkpoint", folder.path("state.sqlite"), "--report", folder.path("report.json"),
                "--metrics-file", folder.path("metrics.prom"),
            ]
        }
        defer { ran.folder.remove() }
        let manager = FileManager.default
        var rejectLines = 0
        for shard in ran.shards {
            for name in ["rejects.csv", "state.sqlite", "report.json", "metrics.prom"] {
                let own = ShardPlan.shardPath(output: ran.path(name), index: shard.index)
                #expect(manager.fileExists(atPath: own), "shard \(shard.index) wrote \(own)")
            }
            let rejects = try String(contentsOfFile: ShardPlan.shardPath(output: ran.path("rejects.csv"), index: shard.index), encoding: .utf8)
            rejectLines += rejects.split(separator: "\n").count - 1
            let report = try JSONText.object(try String(contentsOfFile: ShardPlan.shardPath(output: ran.path("report.json"), index: shard.index), encoding: .utf8))
            let records = try #require(report["records"] as? [String: Any])
            #expect(records["finishedByEarlierRuns"] as? Int == 0, "a fresh shard finished nothing before: \(records)")
            let metrics = try String(contentsOfFile: ShardPlan.shardPath(output: ran.path("metrics.prom"), index: shard.index), encoding: .utf8)
            #expect(metrics.contains("shard=\"\(shard.index)\""), "\(metrics.prefix(400))")
            #expect(metrics.contains("state=\"finished_by_earlier_runs\"} 0"))
        }
        for name in ["rejects.csv", "state.sqlite", "report.json", "metrics.prom"] {
            #expect(!manager.fileExists(atPath: ran.path(name)), "no shard wrote the shared \(name)")
        }
        // Every record numbered 6, 103, ... (seq % 97 == 5) is a reject: 31 of 3,000.
        #expect(rejectLines == 31)
        // Merge finds each shard's rejects where its checkpoint says, given the checkpoint name.
        let merged = try ran.merge(["--checkpoint", ran.path("state.sqlite")])
        #expect(merged.status == 2 && merged.stdout.contains("the books balance: 3000 records"), "\(merged.stderr)")
        let joined = try String(contentsOfFile: ran.output + ".rejects.csv", encoding: .utf8)
        #expect(joined.split(separator: "\n").count - 1 == 31)
    }
}
