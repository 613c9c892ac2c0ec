import Foundation
import Testing
import TestSupport

@testable import Pipeline

/// Sharded runs as a user runs them: `plan` first.
@Suite(.serialized) struct ShardedRunTests {
    typealias Folder = TokenizeRunTests.Folder

    @Test func planCutsTheSampleIntoShardsThatCoverIt() throws {
        let folder = try Folder()
        defer { folder.remove() }
        let out = folder.path("plan.json")
        let input = DryRunCommandTests.projectRoot + "/samples/cards.csv"
        let outcome = try CommandLineTests.run(["plan", "--input", input, "--shards", "3", "--out", out, "--endpoint", "local"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("planned 200 records in 3 shards"))
        let plan = try ShardPlan.read(path: out)
        #expect(plan.records == 200 && plan.shards.map(\.records).reduce(0, +) == 200)
        #expect(plan.shards.map(\.records).allSatisfy { (66...67).contains($0) })
        #expect(plan.shards.first?.firstSeq == 0 && plan.shards.first?.line == 2)
        let size = try FileManager.default.attributesOfItem(atPath: input)[.size] as? Int
        #expect(plan.input.format == .csv && plan.input.size == size.map(Int64.init))

        // Without a key (and not for local runs): refused as bad usage, nothing written.
        let refused = try CommandLineTests.run(["plan", "--input", input, "--shards", "3", "--out", folder.path("other.json")])
        #expect(refused.status == 64)
        #expect(refused.stderr.contains("SCX_API_KEY"))
        #expect(!FileManager.default.fileExists(atPath: folder.path("other.json")))
    }
}
