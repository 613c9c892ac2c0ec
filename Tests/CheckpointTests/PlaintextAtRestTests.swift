import Crypto
import Foundation
import ShieldConex
import Simulator
import Testing

@testable import Checkpoint
import TestSupport

/// A job with known card numbers and CVVs leaves none of them in the database, its WAL or its
/// journal: only tokens, bfids, codes and messages are stored.
@Suite struct PlaintextAtRestTests {
    @Test func noPlaintextValueReachesTheCheckpointFiles() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let secret = SymmetricKey(data: SHA256.hash(data: Array("plaintext-test".utf8)))
        let panCipher = TokenCipher(secret: secret, templateRef: "t", field: "card_number", kind: .cardNumber)
        let cvvCipher = TokenCipher(secret: secret, templateRef: "t", field: "card_cvv", kind: .digits)
        let pans = (0..<500).map { TestCards.pan($0 * 7919, prefix: "541234") }
        let cvvs = (0..<500).map { String(format: "%04d", 1000 + ($0 * 37) % 9000) }

        // With the audit trail kept, so that committed records stay to be scanned.
        var configuration = CheckpointStore.Configuration()
        configuration.keepsAuditTrail = true
        let store = try CheckpointStore(
            path: folder.path("job.sqlite"), identity: TestJobs.identity(mapping: "card_number=card_number;card_cvv=card_cvv"),
            configuration: configuration
        )
        var batch: [RecordResult] = []
        for (seq, (pan, cvv)) in zip(pans, cvvs).enumerated() {
            if seq % 50 == 49 {
                batch.append(RecordResult(seq: seq, status: .rejected, errorCode: "1006", message: "Invalid value for field card_number"))
            } else {
                batch.append(
                    RecordResult(
                        seq: seq, status: .done, bfid: "djE6\(seq)", messageId: "1202611230000000000\(seq)",
                        tokens: [panCipher.tokenize(pan)!, cvvCipher.tokenize(cvv)!]
                    )
                )
            }
            if batch.count == 64 || seq % 100 == 99 || seq == pans.count - 1 {
                try store.write(batch)
                batch.removeAll()
            }
            if seq % 100 == 99 {
                try store.commit(CommitPoint(seq: seq, inputOffset: Int64(seq * 40), inputLine: seq + 2, outputOffset: Int64(seq * 90), rejectsOffset: 0))
            }
        }

        // A CVV that happens to equal some record's token legitimately appears; leave those out.
        let tokens = Set(cvvs.map { cvvCipher.tokenize($0)! })
        let searchable = cvvs.filter { !tokens.contains($0) }
        #expect(searchable.count > 400)
        var scanned = 0
        for suffix in ["", "-wal", "-journal", "-shm"] {
            guard let data = FileManager.default.contents(atPath: store.path + suffix) else { continue }
            scanned += 1
            let bytes = [UInt8](data)
            let leakedPANs = pans.filter { Self.contains(bytes, Array($0.utf8)) }.count
            #expect(leakedPANs == 0, "card numbers found in the checkpoint\(suffix) file")
            // A stored CVV would follow its length in the tokens' encoding.
            let leakedCVVs = searchable.filter { Self.contains(bytes, [UInt8($0.utf8.count), 0, 0, 0] + Array($0.utf8)) }.count
            #expect(leakedCVVs == 0, "CVVs found in the checkpoint\(suffix) file")
        }
        #expect(scanned >= 2)
        // Committed records keep their bfid and messageId, not their tokens.
        #expect(try store.result(seq: 0)?.tokens == [])
        #expect(try store.result(seq: 0)?.bfid == "djE60")
    }

    /// Tokens live only until their output line is durable: at each commit the records it covers
    /// lose them, and a finished job leaves none in the database, its WAL or free pages (PCI DSS
    /// 3.3.1: no sensitive authentication data, in any form that can be turned back, after use).
    @Test(arguments: [false, true]) func aFinishedJobLeavesNoTokenBehind(keepsAuditTrail: Bool) throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        var configuration = CheckpointStore.Configuration()
        configuration.keepsAuditTrail = keepsAuditTrail
        let store = try CheckpointStore(path: folder.path("job.sqlite"), identity: TestJobs.identity(), configuration: configuration)
        let tokens = (0..<300).map { "tok\(100_000 + $0 * 7)x" }
        let results = tokens.enumerated().map { seq, token in
            RecordResult(seq: seq, status: .done, bfid: "bfid-\(seq)", messageId: "m\(seq)", tokens: [token, "cvv\(seq)tok"])
        }
        // A batch that straddles the first commit: the records it covers lose their tokens, the
        // others keep them.
        try store.write(Array(results[0..<160]))
        try store.commit(CommitPoint(seq: 149, inputOffset: 0, inputLine: 1, outputOffset: 0, rejectsOffset: 0))
        #expect(try store.result(seq: 149)?.tokens ?? [] == [], "committed: dropped")
        #expect(try store.result(seq: 150)?.tokens == [tokens[150], "cvv150tok"], "not yet committed: kept")
        try store.write(Array(results[160...]))
        try store.commit(CommitPoint(seq: 299, inputOffset: 0, inputLine: 1, outputOffset: 0, rejectsOffset: 0), complete: true)
        let stored = try CheckpointStore.storedResults(path: store.path, in: 0...Int.max)
        #expect(stored.values.allSatisfy { $0.tokens.isEmpty })
        for suffix in ["", "-wal", "-journal"] {
            guard let data = FileManager.default.contents(atPath: store.path + suffix) else { continue }
            let bytes = [UInt8](data)
            #expect(tokens.filter { Self.contains(bytes, Array($0.utf8)) }.isEmpty, "tokens found in the checkpoint\(suffix) file")
            #expect(!Self.contains(bytes, Array("cvv17tok".utf8)), "a CVV token found in the checkpoint\(suffix) file")
        }
        let summary = try CheckpointStore.summary(path: store.path)
        #expect(summary.done == 300 && summary.complete)
        if keepsAuditTrail {
            #expect(stored.count == 300)
            #expect(try store.result(seq: 299)?.bfid == "bfid-299", "bfids stay: the audit trail")
        } else {
            // The counts stay; the results went with the commits (the output holds the bfids).
            #expect(stored.isEmpty)
        }
    }

    /// By default a commit deletes the results it covers: the checkpoint holds the records in
    /// flight and the counts, so its size follows the window, not the input.
    @Test func theCheckpointStaysAsSmallAsTheRecordsInFlight() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let store = try CheckpointStore(path: folder.path("job.sqlite"), identity: TestJobs.identity())
        let bfid = String(repeating: "b", count: 84)
        func size() -> Int {
            ["", "-wal"].reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: store.path + $1)[.size] as? Int) ?? 0) }
        }
        var sizes: [Int] = []
        for round in 0..<40 {
            let base = round * 5_000
            let results = (base..<base + 5_000).map { (seq: Int) -> RecordResult in
                let number = String(seq)
                if seq % 97 == 0 { return RecordResult(seq: seq, status: .rejected, errorCode: "1006", message: "Invalid value") }
                return RecordResult(seq: seq, status: .done, bfid: bfid + number, messageId: "12026112300000" + number, tokens: ["4000" + number, "123"])
            }
            for start in stride(from: 0, to: results.count, by: 1_000) { try store.write(Array(results[start..<start + 1_000])) }
            try store.commit(CommitPoint(seq: base + 4_999, inputOffset: 0, inputLine: 1, outputOffset: 0, rejectsOffset: 0))
            sizes.append(size())
        }
        // 200,000 records: as big after the 40th commit as after the 10th (pages are reused).
        #expect(sizes[39] <= sizes[9] + 64 * 1024, "\(sizes)")
        #expect(try CheckpointStore.storedResults(path: store.path, in: 0...Int.max).isEmpty)
        let summary = try CheckpointStore.summary(path: store.path)
        #expect(summary.rejectedByErrorCode["1006"] == (0..<200_000).filter { $0 % 97 == 0 }.count)
        #expect(summary.done + summary.rejected == 200_000 && summary.recordsCommitted == 200_000)
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        let first = needle[0]
        var index = 0
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first, haystack[index..<(index + needle.count)].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }
}
