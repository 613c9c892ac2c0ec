import Foundation
import Testing

@testable import Checkpoint
import TestSupport

/// Results stored a batch per row: the encoding, what a commit does to the blocks it covers, and
/// the checkpoints written one row per result before.
@Suite struct ResultBlockTests {
    static let results = [
        RecordResult(seq: 3, status: .done, bfid: "bfid-3", messageId: "120261123", tokens: ["t3", "", "ñ€😀\u{0}"], attempts: 2, digest: [2, 0, 255]),
        RecordResult(seq: 1, status: .rejected, errorCode: "1203", message: "Not found, \"quoted\"", attempts: 1),
        RecordResult(seq: 2, status: .done, bfid: "", tokens: [""]),
        RecordResult(seq: 1_000_000_000_000, status: .transient, errorCode: "transient", message: "", attempts: 0),
        RecordResult(seq: 0, status: .sent),
        RecordResult(seq: 4, status: .outcomeUnknown, messageId: "m", tokens: []),
    ]

    @Test func resultsRoundTripInTheirOrder() throws {
        let block = ResultBlock(encoding: Self.results)
        #expect(block.firstSeq == 0 && block.lastSeq == 1_000_000_000_000 && block.count == 6)
        #expect(block.decoded() == Self.results)
        let noTokens = ResultBlock(encoding: [RecordResult(seq: 9, status: .rejected, errorCode: "x")])
        #expect(noTokens.tokens == nil && noTokens.decoded() == [RecordResult(seq: 9, status: .rejected, errorCode: "x")])
    }

    /// A commit inside a block keeps the tokens after it, made from the bytes: the same as the
    /// block decoded with the earlier records' tokens cleared; none left is no token row; damaged
    /// bytes are left alone.
    @Test(arguments: [-1, 0, 1, 2, 3, 4, 5, 1_000_000_000_000])
    func tokensAfterACommitAreThoseOfTheDecodedBlock(seq: Int) throws {
        let block = ResultBlock(encoding: Self.results)
        let kept = try #require(block.tokens(keepingAfter: seq))
        let expected = Self.results.map { result in
            var result = result
            if result.seq <= seq { result.tokens = [] }
            return result
        }
        if expected.allSatisfy({ $0.tokens.isEmpty }) {
            #expect(kept == nil, "no token left after \(seq)")
        } else {
            let rewritten = ResultBlock(results: block.results, tokens: kept, firstSeq: block.firstSeq, lastSeq: block.lastSeq, count: block.count)
            #expect(rewritten.decoded() == expected, "after \(seq)")
        }
        var damaged = block
        damaged.tokens!.removeLast()
        #expect(damaged.tokens(keepingAfter: seq) == nil, "tokens cut short")
        damaged = block
        damaged.results.removeLast()
        #expect(damaged.tokens(keepingAfter: seq) == nil, "results cut short")
    }

    @Test func damagedBytesAreNoResults() {
        let block = ResultBlock(encoding: Self.results)
        var versions = block
        versions.results[0] = 9
        #expect(versions.decoded() == nil, "another version")
        for cut in [1, 2, 5, block.results.count - 1] {
            var shortened = block
            shortened.results.removeLast(block.results.count - cut)
            #expect(shortened.decoded() == nil, "results cut at \(cut)")
        }
        var shortTokens = block
        shortTokens.tokens!.removeLast()
        #expect(shortTokens.decoded() == nil, "tokens cut short")
        var longTokens = block
        longTokens.tokens!.append(0)
        #expect(longTokens.decoded() == nil, "tokens left over")
        var huge = block
        huge.results = [1, 1, 1, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]
        #expect(huge.decoded() == nil, "a length past the end")
        var endless = block
        endless.results = [1] + [UInt8](repeating: 0xFF, count: 12)
        #expect(endless.decoded() == nil, "a varint longer than 64 bits")
        #expect(ResultBlock(results: [], tokens: nil, firstSeq: 0, lastSeq: 0, count: 0).decoded() == nil)
    }

    /// A commit drops the tokens of exactly the records it covers, also inside a block that holds
    /// records on both sides of it; the records keep their bfid.
    @Test func aCommitInsideABlockDropsOnlyWhatItCovers() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let store = try CheckpointStore(path: folder.path("c.sqlite"), identity: TestJobs.identity())
        // Out of order, as answers come back: one block from 0 to 9.
        try store.write((0..<10).reversed().map { RecordResult(seq: $0, status: .done, bfid: "b\($0)", tokens: ["t\($0)"]) })
        try store.commit(CommitPoint(seq: 4, inputOffset: 0, inputLine: 1, outputOffset: 0, rejectsOffset: 0))
        let stored = try store.results(in: 0...9)
        #expect((0...4).allSatisfy { stored[$0]?.tokens == [] && stored[$0]?.bfid == "b\($0)" })
        #expect((5...9).allSatisfy { stored[$0]?.tokens == ["t\($0)"] })
        try store.commit(CommitPoint(seq: 9, inputOffset: 0, inputLine: 1, outputOffset: 0, rejectsOffset: 0), complete: true)
        #expect(try store.results(in: 0...9).values.allSatisfy { $0.tokens.isEmpty })
    }

    /// A later result for a seq replaces the earlier one, in reads and in the counts of `status`,
    /// before and after the commit that covers it.
    @Test func theLatestResultOfASeqCountsOnce() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let store = try CheckpointStore(path: folder.path("c.sqlite"), identity: TestJobs.identity())
        try store.write([RecordResult(seq: 0, status: .sent), RecordResult(seq: 1, status: .transient, errorCode: "transient")])
        // Seq 4's error code is replaced by a result without one: it counts as done, no code.
        try store.write([RecordResult(seq: 4, status: .rejected, errorCode: "1006")])
        try store.write([RecordResult(seq: 0, status: .done, bfid: "b0"), RecordResult(seq: 1, status: .rejected, errorCode: "1203")])
        try store.write([RecordResult(seq: 2, status: .rejected, errorCode: "1203"), RecordResult(seq: 3, status: .done, bfid: "b3")])
        try store.write([RecordResult(seq: 4, status: .done, bfid: "b4")])
        func check(_ label: String) throws {
            let summary = try CheckpointStore.summary(path: store.path)
            #expect(summary.resultsStored == 5 && summary.done == 3 && summary.rejectedByErrorCode == ["1203": 2], "\(label)")
            #expect(summary.transient == 0 && summary.outcomeUnknown == 0, "\(label)")
            #expect(summary.firstUpdate != nil && summary.lastUpdate != nil, "\(label)")
        }
        try check("before the commit")
        #expect(try store.result(seq: 1)?.status == .rejected)
        try store.commit(CommitPoint(seq: 1, inputOffset: 0, inputLine: 1, outputOffset: 0, rejectsOffset: 0))
        try check("after a commit through seq 1")
        try store.commit(CommitPoint(seq: 4, inputOffset: 0, inputLine: 1, outputOffset: 0, rejectsOffset: 0), complete: true)
        try check("after the last commit")
        #expect(try CheckpointStore.summary(path: store.path).recordsCommitted == 5)
    }

    /// A checkpoint of the version that kept one row per result (tokens as a BLOB, or as text in
    /// older ones) is read by `status` as it is, and moved into blocks by the next run.
    @Test func aCheckpointWithOneRowPerResultIsReadAndMoved() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let path = folder.path("c.sqlite")
        do {
            let store = try CheckpointStore(path: path, identity: TestJobs.identity())
            try store.commit(CommitPoint(seq: 1, inputOffset: 10, inputLine: 3, outputOffset: 20, rejectsOffset: 30))
        }
        do {
            let database = try SQLiteDatabase(path: path)
            try database.execute(
                """
                CREATE TABLE result (seq INTEGER PRIMARY KEY, status INTEGER NOT NULL, bfid TEXT, message_id TEXT, tokens TEXT,
                    error_code TEXT, message TEXT, attempts INTEGER NOT NULL, updated_at REAL NOT NULL);
                INSERT INTO result VALUES (0, 1, 'b0', 'm0', NULL, NULL, NULL, 1, 1000);
                INSERT INTO result VALUES (1, 2, NULL, NULL, NULL, '1203', 'Not found', 3, 1001);
                INSERT INTO result VALUES (2, 1, 'b2', 'm2', 'x' || char(31) || 'y', NULL, NULL, 1, 1002);
                INSERT INTO result VALUES (3, 1, 'b3', 'm3', x'01000000020000004142', NULL, NULL, 1, 1003);
                """
            )
        }
        let before = try CheckpointStore.summary(path: path)
        #expect(before.resultsStored == 4 && before.done == 3 && before.rejectedByErrorCode == ["1203": 1])
        #expect(try CheckpointStore.storedResults(path: path, in: 2...3)[2]?.tokens == ["x", "y"])

        let store = try CheckpointStore(path: path, identity: TestJobs.identity())
        let after = try CheckpointStore.summary(path: path)
        #expect(after.resultsStored == 4 && after.done == 3 && after.rejectedByErrorCode == ["1203": 1] && after.recordsCommitted == 2)
        let stored = try store.results(in: 0...3)
        #expect(stored[0]?.bfid == "b0" && stored[0]?.tokens == [] && stored[1]?.attempts == 3 && stored[1]?.message == "Not found")
        #expect(stored[2]?.tokens == ["x", "y"] && stored[3]?.tokens == ["AB"])
        let tables = try SQLiteDatabase(path: path, mode: .readOnly).statement("SELECT COUNT(*) FROM sqlite_master WHERE name = 'result'")
        #expect(try tables.step() && tables.int(0) == 0, "the old table is gone")
    }

    /// Every read of blocks by seq goes through the index on `last_seq`: a scan of the table (what
    /// SQLite chose for `ORDER BY id` without statistics) makes each commit cost in proportion to
    /// the job's size.
    @Test(arguments: [CheckpointStore.overlappingBlocksSQL, CheckpointStore.settledOutcomesSQL, CheckpointStore.droppedTokensSQL])
    func blocksAreFoundThroughTheIndex(sql: String) throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let store = try CheckpointStore(path: folder.path("c.sqlite"), identity: TestJobs.identity())
        for base in stride(from: 0, to: 2_000, by: 100) {
            try store.write((base..<base + 100).map { RecordResult(seq: $0, status: .done, bfid: "b", tokens: ["t"]) })
        }
        let plan = try SQLiteDatabase(path: store.path, mode: .readOnly).statement("EXPLAIN QUERY PLAN " + sql)
        var details: [String] = []
        while try plan.step() { details.append(plan.text(3) ?? "") }
        #expect(details.contains { $0.contains("INDEX result_block_last_seq") }, "\(details)")
        #expect(!details.contains { $0.hasPrefix("SCAN") }, "\(details)")
    }
}
