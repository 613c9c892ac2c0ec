import Checkpoint
import Foundation
import Testing
import TestSupport

/// The engine's own write path is killed with SIGKILL at moments chosen by its progress; after
/// each kill the checkpoint opens, its commit point never goes back and agrees with the output
/// file (the committed part holds every record once, in order), and every committed record is
/// counted. (The crash tests once killed a stand-in writer; they now kill the path the engine uses.)
@Suite(.serialized) struct CheckpointCrashTests {
    static let records = 60_000

    /// The ids of the records in the first `offset` bytes of `path` (a CSV output whose first
    /// column is the id; its notes may hold quoted newlines).
    static func committedIds(of path: String, upTo offset: Int64) throws -> [String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(Int64(data.count) >= offset, "the output reaches the committed offset")
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("committed-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: prefix) }
        try data.prefix(Int(offset)).write(to: prefix)
        return try CSVFiles.read(prefix.path).rows.map { $0[0] }
    }

    @Test func killedRunsLoseNothingCommitted() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try CSVFiles.generate(rows: Self.records, to: input)
        let simulator = try SimulatorProcess(["--deterministic-ids"])
        let output = folder.path("out.csv")
        let checkpoint = CheckpointStore.defaultPath(forOutput: output)
        let arguments = TestRuns.tokenize(input, simulator.url, output)
        var lastCommitted = -1
        var kills = 0
        while kills < 12 {
            let (process, _) = try TestRuns.start(arguments)
            TestRuns.waitForCommit(checkpoint, atLeast: lastCommitted + Int.random(in: 1...4_000), while: process)
            guard process.isRunning else { break }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            kills += 1
            let summary = try CheckpointStore.summary(path: checkpoint)
            guard let point = summary.commitPoint else { continue }
            #expect(point.seq >= lastCommitted, "the commit point never goes back")
            lastCommitted = point.seq
            let ids = try Self.committedIds(of: output, upTo: point.outputOffset)
            #expect(ids == (0...point.seq).map { "C\($0)" }, "the committed output holds records 0 to \(point.seq) once, in order")
            #expect(summary.resultsStored >= point.seq + 1, "every committed record is counted")
            #expect(!summary.complete)
        }
        #expect(kills >= 3, "the run was killed \(kills) times")
        let final = try BinaryLauncher.run(arguments, environment: ["SCX_API_KEY": TestKeys.simulator])
        #expect(final.status == 0, "\(final.stderr)")
        let summary = try CheckpointStore.summary(path: checkpoint)
        #expect(summary.complete && summary.commitPoint?.seq == Self.records - 1)
        #expect(summary.done == Self.records)
        #expect(try Self.committedIds(of: output, upTo: summary.commitPoint!.outputOffset) == (0..<Self.records).map { "C\($0)" })
        let size = try FileManager.default.attributesOfItem(atPath: output)[.size] as? Int
        #expect(Int64(size ?? 0) == summary.commitPoint!.outputOffset)
        _ = simulator.stop()
    }
}

@Suite(.serialized) struct StatusCommandTests {
    @Test func statusPrintsTheCheckpointAsTextAndJSON() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try CSVFiles.generate(rows: 120, to: input)
        let simulator = try SimulatorProcess([])
        let output = folder.path("out.csv")
        let written = try BinaryLauncher.run(TestRuns.tokenize(input, simulator.url, output), environment: ["SCX_API_KEY": TestKeys.simulator])
        #expect(written.status == 0, "\(written.stderr)")
        _ = simulator.stop()

        let text = try BinaryLauncher.run(["status", "--output", output])
        #expect(text.status == 0)
        #expect(text.stdout.contains("job: tokenize with template \(TestRuns.template) on "))
        #expect(text.stdout.contains("records committed: 120"))
        #expect(text.stdout.contains("complete: yes"))

        let json = try BinaryLauncher.run(["status", "--checkpoint", CheckpointStore.defaultPath(forOutput: output), "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["recordsCommitted"] as? Int == 120)
        #expect(object["complete"] as? Bool == true)
        #expect((object["identity"] as? [String: Any])?["templateRef"] as? String == TestRuns.template)

        let missing = try BinaryLauncher.run(["status", "--output", folder.path("none.csv")])
        #expect(missing.status == 64)
        #expect(missing.stderr.contains("no checkpoint at"))
    }
}
