import Checkpoint
import Foundation
import Testing

@testable import Pipeline
import TestSupport

/// A plan is checked before it is trusted: its numbers must be those of a plan `plan` could
/// write (contiguous, in order, within the input, counts that add up without overflowing), and
/// its boundaries must be the ones `plan` found in this input (keyed digests of the bytes there).
@Suite struct ShardPlanValidationTests {
    static let key = DigestKey(secret: "plan validation tests")

    static func input(records: Int = 400) -> String {
        "id,card_number,notes\n" + (0..<records).map { "C\($0),\(TestCards.pan($0)),note \($0 % 7)\n" }.joined()
    }

    static func plan(_ text: String, shards: Int = 3) throws -> (TempFile, ShardPlan) {
        let file = try TempFile(text, name: "cards.csv")
        return (file, try ShardPlan.make(path: file.path, format: .csv, delimiter: UInt8(ascii: ","), shards: shards, key: key))
    }

    /// Every hand edit of a plan's numbers that breaks its shape: refused by `validate()` (and by
    /// `read`), never a trap (`records` of Int.max overflowed `endSeq`).
    @Test(arguments: [
        "offset -5", "records Int.max", "records Int.max in the last", "a gap", "an overlap", "offsets backwards", "past the end",
        "numbered out of order", "total differs", "negative records", "no shards", "line backwards",
    ])
    func aMisshapenPlanIsRefused(edit: String) throws {
        let (file, plan) = try Self.plan(Self.input())
        defer { file.remove() }
        try plan.validate()
        var edited = plan
        switch edit {
        case "offset -5": edited.shards[0].offset = -5
        case "records Int.max": edited.shards[1].records = Int.max
        case "records Int.max in the last": edited.shards[2].records = Int.max
        case "a gap": edited.shards[1].firstSeq += 1
        case "an overlap": edited.shards[1].firstSeq -= 1
        case "offsets backwards": edited.shards[2].offset = edited.shards[1].offset - 1
        case "past the end": edited.shards[2].offset = plan.input.size + 1
        case "numbered out of order": edited.shards.swapAt(1, 2)
        case "total differs": edited.records += 1
        case "negative records": edited.shards[0].records = -1
        case "no shards": edited.shards = []
        default: edited.shards[1].line = 0
        }
        #expect(throws: ShardPlan.PlanError.self) { try edited.validate() }
        let planFile = try TempFile(bytes: Array(try edited.encoded()), name: "plan.json")
        defer { planFile.remove() }
        #expect(throws: ShardPlan.PlanError.self) { try ShardPlan.read(path: planFile.path) }
    }

    /// A plan whose numbers were moved consistently (a shard's start one record later, the counts
    /// adjusted so that it still validates) fails its keyed boundary digest.
    @Test func aConsistentlyEditedPlanFailsItsBoundaryDigest() throws {
        let text = Self.input()
        let (file, plan) = try Self.plan(text)
        defer { file.remove() }
        for index in plan.shards.indices { try plan.checkBoundaries(of: index, path: file.path, key: Self.key) }
        var edited = plan
        let lineLength = Int64("C\(plan.shards[1].firstSeq),\(TestCards.pan(plan.shards[1].firstSeq)),note \(plan.shards[1].firstSeq % 7)\n".utf8.count)
        edited.shards[0].records += 1
        edited.shards[1].records -= 1
        edited.shards[1].firstSeq += 1
        edited.shards[1].offset += lineLength
        edited.shards[1].line += 1
        try edited.validate()
        #expect(throws: ShardPlan.PlanError.self) { try edited.checkBoundaries(of: 0, path: file.path, key: Self.key) }
        #expect(throws: ShardPlan.PlanError.self) { try edited.checkBoundaries(of: 1, path: file.path, key: Self.key) }
        // The last shard's start is untouched: it still passes.
        try edited.checkBoundaries(of: 2, path: file.path, key: Self.key)
        // Another key: nothing passes.
        #expect(throws: ShardPlan.PlanError.self) { try plan.checkBoundaries(of: 2, path: file.path, key: DigestKey(secret: "another")) }
    }

    /// The input edited in place between `plan` and the runs, its size unchanged: ten bytes
    /// inserted before shard 1's start and ten removed after it. Shard 0 (its end) and shard 1 (its
    /// start) are refused; shard 2, whose boundaries did not move, is not.
    @Test func anInputEditedInPlaceAcrossABoundaryIsRefused() throws {
        let text = Self.input(records: 2_000)
        let (file, plan) = try Self.plan(text)
        defer { file.remove() }
        var bytes = Array(text.utf8)
        let boundary = Int(plan.shards[1].offset)
        // Inside the notes of a record well before the boundary, and of one well after it.
        let before = bytes[..<(boundary - 300)].lastIndex(of: UInt8(ascii: "n"))!
        bytes.insert(contentsOf: Array("0123456789".utf8), at: before)
        let after = bytes[(boundary + 310)...].firstIndex(of: UInt8(ascii: "n"))!
        bytes.removeSubrange((after - 10)..<after)
        #expect(bytes.count == text.utf8.count)
        try Data(bytes).write(to: file.url)
        #expect(throws: ShardPlan.PlanError.self) { try plan.checkBoundaries(of: 0, path: file.path, key: Self.key) }
        #expect(throws: ShardPlan.PlanError.self) { try plan.checkBoundaries(of: 1, path: file.path, key: Self.key) }
        try plan.checkBoundaries(of: 2, path: file.path, key: Self.key)
    }

    @Test func whereAShardsRecordsEnd() throws {
        let (file, plan) = try Self.plan("id,card_number\nC0,\(TestCards.pan(0))\n", shards: 3)
        defer { file.remove() }
        // One record: one shard has it, the others are empty; it ends the input.
        let holder = try #require(plan.shards.firstIndex { $0.records == 1 })
        #expect(plan.shards.map(\.records).reduce(0, +) == 1)
        #expect(plan.endOffset(of: holder) == nil && plan.endOffset(of: 2) == nil)
        if holder > 0 { #expect(plan.endOffset(of: 0) == plan.shards[holder].offset) }
        let (other, larger) = try Self.plan(Self.input(), shards: 3)
        defer { other.remove() }
        #expect(larger.endOffset(of: 0) == larger.shards[1].offset && larger.endOffset(of: 2) == nil)
    }
}
