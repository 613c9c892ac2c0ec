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

        var configuration = CheckpointStore.Configuration()
        configuration.batchSize = 64
        let store = try CheckpointStore(
            path: folder.path("job.sqlite"), identity: CheckpointStoreTests.identity(mapping: "card_number=card_number;card_cvv=card_cvv"),
            configuration: configuration
        )
        for (seq, (pan, cvv)) in zip(pans, cvvs).enumerated() {
            if seq % 50 == 49 {
                try store.record(RecordResult(seq: seq, status: .rejected, errorCode: "1006", message: "Invalid value for field card_number"))
            } else {
                try store.record(
                    RecordResult(
                        seq: seq, status: .done, bfid: "djE6\(seq)", messageId: "1202611230000000000\(seq)",
                        tokens: [panCipher.tokenize(pan)!, cvvCipher.tokenize(cvv)!]
                    )
                )
            }
            if seq % 100 == 99 {
                try store.commit(CommitPoint(seq: seq, inputOffset: Int64(seq * 40), inputLine: seq + 2, outputOffset: Int64(seq * 90), rejectsOffset: 0))
            }
        }
        try store.flush()

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
    @Test func aFinishedJobLeavesNoTokenBehind() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let store = try CheckpointStore(path: folder.path("job.sqlite"), identity: CheckpointStoreTests.identity())
        let tokens = (0..<300).map { "tok\(100_000 + $0 * 7)x" }
        for (seq, token) in tokens.enumerated() {
            try store.record(RecordResult(seq: seq, status: .done, bfid: "bfid-\(seq)", messageId: "m\(seq)", tokens: [token, "cvv\(seq)tok"]))
            if seq == 149 {
                try store.commit(CommitPoint(seq: seq, inputOffset: 0, inputLine: 1, outputOffset: 0, rejectsOffset: 0))
                #expect(try store.result(seq: 149)?.tokens == [], "committed: dropped")
            }
            if seq == 150 {
                try store.flush()
                #expect(try store.result(seq: 150)?.tokens == [tokens[150], "cvv150tok"], "not yet committed: kept")
            }
        }
        try store.commit(CommitPoint(seq: 299, inputOffset: 0, inputLine: 1, outputOffset: 0, rejectsOffset: 0), complete: true)
        let stored = try CheckpointStore.storedResults(path: store.path, in: 0...Int.max)
        #expect(stored.count == 300 && stored.values.allSatisfy { $0.tokens.isEmpty })
        for suffix in ["", "-wal", "-journal"] {
            guard let data = FileManager.default.contents(atPath: store.path + suffix) else { continue }
            let bytes = [UInt8](data)
            #expect(tokens.filter { Self.contains(bytes, Array($0.utf8)) }.isEmpty, "tokens found in the checkpoint\(suffix) file")
            #expect(!Self.contains(bytes, Array("cvv17tok".utf8)), "a CVV token found in the checkpoint\(suffix) file")
        }
        #expect(try store.result(seq: 299)?.bfid == "bfid-299", "bfids stay: the audit trail")
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
