import Checkpoint
import Foundation
import Testing

@testable import Pipeline
import TestSupport

/// A plan cuts an input where the streaming reader says records start, into shards of nearly
/// equal size, in constant memory, and knows its input again.
@Suite struct ShardPlanTests {
    static let key = DigestKey(secret: "plan tests")

    /// Every record of the file, read from the start.
    static func records(_ path: String, format: InputFormat) throws -> [InputRecord] {
        var (reader, _) = try InputSource.open(path: path, format: format)
        var all: [InputRecord] = []
        while let record = try reader.next() { all.append(record) }
        return all
    }

    /// Each shard read from its start for its count: together, the whole file, in order.
    static func checkShardsCover(_ plan: ShardPlan, path: String, format: InputFormat) throws {
        let all = try records(path, format: format)
        #expect(plan.records == all.count)
        #expect(plan.shards.map(\.records).reduce(0, +) == all.count)
        var seq = 0
        for shard in plan.shards {
            #expect(shard.firstSeq == seq, "shard \(shard.index) starts where the one before it ends")
            var (reader, _) = try InputSource.open(path: path, format: format, from: shard.start)
            for _ in 0..<shard.records {
                let record = try #require(try reader.next())
                #expect(record.seq == seq && record.bytes == all[seq].bytes && record.position == all[seq].position)
                seq += 1
            }
            seq = shard.endSeq
        }
        #expect(seq == all.count)
    }

    @Test(arguments: [1, 2, 3, 8, 40])
    func csvShardsWithQuotedLineBreaksCoverTheInputInOrder(shards: Int) throws {
        var text = "id,card_number,notes\n"
        for index in 0..<25 {
            let notes = index % 3 == 0 ? "\"two\nlines, \"\"quoted\"\"\"" : "plain"
            text += "C\(index),\(TestCards.pan(index)),\(notes)\(index % 4 == 0 ? "\r\n" : "\n")"
            if index == 10 { text += "\n" }  // a blank line is no record
            if index == 12 { text += "bad,\"unterminated\n" }  // an invalid record is one
        }
        let file = try TempFile(text, name: "cards.csv")
        defer { file.remove() }
        let plan = try ShardPlan.make(path: file.path, format: .csv, delimiter: UInt8(ascii: ","), shards: shards, key: Self.key)
        #expect(plan.shards.count == shards)
        try Self.checkShardsCover(plan, path: file.path, format: .csv)
        if shards <= plan.records {
            let sizes = plan.shards.map(\.records)
            #expect(sizes.max()! - sizes.min()! <= 1, "equal shares when every record is sampled: \(sizes)")
        } else {
            #expect(plan.shards.filter { $0.records == 0 }.count == shards - plan.records, "more shards than records: the rest are empty")
        }
    }

    @Test func ndjsonShardsCoverTheInputInOrder() throws {
        let text = (0..<50).map { "{\"id\":\($0),\"card\":\"\(TestCards.pan($0))\",\"note\":\"a\\nb\"}\n" }.joined()
        let file = try TempFile(text, name: "cards.ndjson")
        defer { file.remove() }
        let plan = try ShardPlan.make(path: file.path, format: .ndjson, delimiter: UInt8(ascii: ","), shards: 6, key: Self.key)
        try Self.checkShardsCover(plan, path: file.path, format: .ndjson)
    }

    /// With few samples kept, the plan still covers the file and its shards stay within a stride.
    @Test func fewSamplesKeepTheShardsWithinAStrideOfEqual() throws {
        let text = "id,card_number\n" + (0..<1_000).map { "C\($0),\(TestCards.pan($0))\n" }.joined()
        let file = try TempFile(text, name: "cards.csv")
        defer { file.remove() }
        let plan = try ShardPlan.make(path: file.path, format: .csv, delimiter: UInt8(ascii: ","), shards: 7, key: Self.key, samples: 16)
        try Self.checkShardsCover(plan, path: file.path, format: .csv)
        var sampler = BoundarySampler(capacity: 16)
        for seq in 0..<1_000 { sampler.add(RecordPosition(seq: seq, offset: Int64(seq), line: seq + 2)) }
        #expect(sampler.samples.count <= 16 && sampler.stride == 64)
        for shard in plan.shards {
            #expect(abs(shard.records - 1_000 / 7) <= sampler.stride, "shard \(shard.index): \(shard.records) records")
        }
    }

    @Test func anEmptyInputHasEmptyShards() throws {
        let file = try TempFile("id,card_number\n", name: "cards.csv")
        defer { file.remove() }
        let plan = try ShardPlan.make(path: file.path, format: .csv, delimiter: UInt8(ascii: ","), shards: 3, key: Self.key)
        #expect(plan.records == 0 && plan.shards.count == 3 && plan.shards.allSatisfy { $0.records == 0 })
    }

    @Test func aPlanKnowsItsInputAndRefusesAnother() throws {
        let text = "id,card_number\n" + (0..<100).map { "C\($0),\(TestCards.pan($0))\n" }.joined()
        let file = try TempFile(text, name: "cards.csv")
        defer { file.remove() }
        let plan = try ShardPlan.make(path: file.path, format: .csv, delimiter: UInt8(ascii: ","), shards: 2, key: Self.key)
        try plan.checkInput(path: file.path, key: Self.key)
        // Written and read back, the same plan.
        let planFile = try TempFile(bytes: Array(try plan.encoded()), name: "plan.json")
        defer { planFile.remove() }
        #expect(try ShardPlan.read(path: planFile.path) == plan)
        // Another key, another digest: refused.
        #expect(throws: ShardPlan.PlanError.self) { try plan.checkInput(path: file.path, key: DigestKey(secret: "another")) }
        // A digit changed (same size): refused; a line more: refused.
        var bytes = Array(text.utf8)
        bytes[20] = bytes[20] == UInt8(ascii: "1") ? UInt8(ascii: "2") : UInt8(ascii: "1")
        try Data(bytes).write(to: file.url)
        #expect(throws: ShardPlan.PlanError.self) { try plan.checkInput(path: file.path, key: Self.key) }
        try Data((text + "C100,4000000000000002\n").utf8).write(to: file.url)
        #expect(throws: ShardPlan.PlanError.self) { try plan.checkInput(path: file.path, key: Self.key) }
        // A plan of another version, or no plan at all: refused with a message.
        var other = plan
        other.version = 99
        try other.encoded().write(to: planFile.url)
        #expect(throws: ShardPlan.PlanError.self) { try ShardPlan.read(path: planFile.path) }
        try Data("{}".utf8).write(to: planFile.url)
        #expect(throws: ShardPlan.PlanError.self) { try ShardPlan.read(path: planFile.path) }
    }
}
