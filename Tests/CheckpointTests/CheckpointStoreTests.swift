import Crypto
import Foundation
import Testing

@testable import Checkpoint
import TestSupport

@Suite struct CheckpointStoreTests {

    static func identity(templateRef: String = "tpl", mapping: String = "card_number=card_number", size: Int64 = 100) -> JobIdentity {
        TestJobs.identity(templateRef: templateRef, mapping: mapping, size: size)
    }

    /// Tokens round-trip whatever they hold: one empty token was stored as '' and read back as
    /// none (a one-field --omit job then crashed on every resume), NUL cut a token short, U+001F
    /// split one in two.
    @Test(arguments: [[""], ["", ""], ["a\u{0}b"], ["x\u{1F}y", "z"], ["ñ€😀", "", "\u{0}"], [], ["4000 0000 0000 0002"]])
    func tokensRoundTripWhateverTheyHold(tokens: [String]) throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let store = try CheckpointStore(path: folder.path("c.sqlite"), identity: Self.identity())
        try store.write([RecordResult(seq: 7, status: .done, bfid: "b", tokens: tokens)])
        #expect(try store.results(in: 0...10)[7]?.tokens == tokens)
        #expect(try store.result(seq: 7)?.tokens == tokens)
    }

    @Test func damagedTokenBytesAreNoTokens() {
        #expect(RecordResult.decodeTokens([1, 0, 0, 0, 9, 0, 0, 0, 65]) == nil)
        #expect(RecordResult.decodeTokens([255, 255, 255, 255]) == nil)
        #expect(RecordResult.decodeTokens([0, 0, 0, 0, 1]) == nil, "trailing bytes")
        #expect(RecordResult.decodeTokens([]) == nil)
        #expect(RecordResult.decodeLegacyTokens("a\u{1F}b") == ["a", "b"])
    }

    @Test func wrapperBindsReadsAndReportsErrors() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let database = try SQLiteDatabase(path: folder.path("w.sqlite"))
        try database.execute("CREATE TABLE t (a INTEGER, b TEXT, c REAL)")
        let insert = try database.statement("INSERT INTO t VALUES (?, ?, ?)")
        try insert.bind(1, 42)
        try insert.bind(2, "text with 'quotes' and é")
        try insert.bind(3, 1.5)
        try insert.run()
        let select = try database.statement("SELECT a, b, c FROM t")
        #expect(try select.step())
        #expect(select.int(0) == 42 && select.text(1) == "text with 'quotes' and é" && select.double(2) == 1.5)
        #expect(try !select.step())
        #expect(throws: SQLiteError.self) { try database.execute("SELECT * FROM missing_table") }
        do {
            try database.execute("INSERT INTO absent_table VALUES (1)")
        } catch let error as SQLiteError {
            #expect(error.primaryCode == 1)
            #expect(error.message.contains("no such table"))
        }
        // A failed transaction rolls back.
        #expect(throws: SQLiteError.self) {
            try database.transaction {
                try database.execute("INSERT INTO t VALUES (1, 'x', 0)")
                try database.execute("INSERT INTO nope VALUES (1)")
            }
        }
        let count = try database.statement("SELECT COUNT(*) FROM t")
        #expect(try count.step() && count.int(0) == 1)
    }

    @Test func resultsAreStoredInBatchesAndReadBack() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let store = try CheckpointStore(path: folder.path("c.sqlite"), identity: Self.identity())
        #expect(store.isNew && store.commitPoint == nil)
        let results = (0..<25).map { seq in
            RecordResult(seq: seq, status: .done, bfid: "bfid-\(seq)", messageId: "m\(seq)", tokens: ["t\(seq)", "", "x"])
        }
        try store.write(Array(results[0..<20]))
        #expect(try CheckpointStore.summary(path: store.path).resultsStored == 20)
        try store.write(Array(results[20...]) + [RecordResult(seq: 25, status: .rejected, errorCode: "1203", message: "Not found", attempts: 3)])
        #expect(try store.result(seq: 24)?.tokens == ["t24", "", "x"])
        #expect(try store.result(seq: 25)?.attempts == 3)
        #expect(try store.results(in: 5...24).count == 20)
        // A reader beside the writer sees the same.
        let reader = try CheckpointReader(path: store.path)
        #expect(try reader.results(in: 0...99).count == 26)
        #expect(try reader.results(in: 25...25)[25]?.errorCode == "1203")
        #expect(try CheckpointStore.summary(path: store.path).resultsStored == 26)
        #expect(try store.result(seq: 99) == nil)
    }

    @Test func commitPointSurvivesReopenAndMismatchIsRefused() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let path = folder.path("c.sqlite")
        do {
            let store = try CheckpointStore(path: path, identity: Self.identity())
            try store.write([RecordResult(seq: 0, status: .done, bfid: "b0", tokens: ["t"])])
            try store.commit(CommitPoint(seq: 0, inputOffset: 40, inputLine: 3, outputOffset: 55, rejectsOffset: 33))
        }
        do {
            let reopened = try CheckpointStore(path: path, identity: Self.identity())
            #expect(!reopened.isNew)
            #expect(reopened.commitPoint == CommitPoint(seq: 0, inputOffset: 40, inputLine: 3, outputOffset: 55, rejectsOffset: 33))
            // The committed record is counted (its result went with the commit: the output has its bfid).
            #expect(try reopened.result(seq: 0) == nil)
            #expect(try CheckpointStore.summary(path: path).done == 1)
        }

        do {
            _ = try CheckpointStore(path: path, identity: Self.identity(templateRef: "other", size: 101))
            Issue.record("a different job must be refused")
        } catch let error as CheckpointError {
            #expect(error.description.contains("templateRef: checkpoint has tpl, this run other"))
            #expect(error.description.contains("input size: checkpoint has 100 bytes, the file now has 101"))
            #expect(error.description.contains("--restart"))
        }
        let restarted = try CheckpointStore(path: path, identity: Self.identity(templateRef: "other"), restart: true)
        #expect(restarted.isNew && restarted.commitPoint == nil)
        #expect(try restarted.result(seq: 0) == nil)
    }

    /// Results stored with a written point: the tokens of records whose lines the files already
    /// hold are not stored, the others' are; the point survives a reopen (the next run takes up
    /// there) until a commit passes it, and a point at or before the commit point is none.
    @Test func resultsWithAWrittenPointKeepOnlyTheTokensAndDigestsOfUnwrittenLines() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let path = folder.path("c.sqlite")
        let written = CommitPoint(seq: 4, inputOffset: 200, inputLine: 6, outputOffset: 300, rejectsOffset: 40)
        do {
            let store = try CheckpointStore(path: path, identity: Self.identity())
            try store.commit(CommitPoint(seq: 1, inputOffset: 80, inputLine: 3, outputOffset: 120, rejectsOffset: 40))
            // Answers out of order: 6 is stored before its line is written.
            let results = [2, 3, 6, 4].map {
                RecordResult(seq: $0, status: .done, bfid: "b\($0)", messageId: "m\($0)", tokens: ["t\($0)", "u\($0)"], digest: [2] + Array(repeating: UInt8($0), count: 16))
            }
            try store.write(results, writtenThrough: written)
            #expect(store.writtenPoint == written)
            // A point not past the commit point is not stored.
            try store.write([], writtenThrough: CommitPoint(seq: 1, inputOffset: 80, inputLine: 3, outputOffset: 120, rejectsOffset: 40))
            #expect(store.writtenPoint == written)
        }
        do {
            let reopened = try CheckpointStore(path: path, identity: Self.identity())
            #expect(reopened.writtenPoint == written)
            #expect(try CheckpointStore.summary(path: path).writtenPoint == written)
            let stored = try reopened.results(in: 0...10)
            for seq in [2, 3, 4] {
                #expect(stored[seq]?.tokens == [], "record \(seq)'s line is written: no tokens stored")
                #expect(stored[seq]?.digest == nil, "record \(seq)'s line is written: it is never reused, no digest stored")
                #expect(stored[seq]?.bfid == "b\(seq)" && stored[seq]?.messageId == "m\(seq)", "the audit trail stays")
            }
            #expect(stored[6]?.tokens == ["t6", "u6"], "record 6's line is not written yet: its tokens are kept")
            #expect(stored[6]?.digest == [2] + Array(repeating: 6, count: 16), "and its digest, to be reused only for the record as it is")
            try reopened.commit(written)
            #expect(reopened.writtenPoint == nil)
        }
        let again = try CheckpointStore(path: path, identity: Self.identity())
        #expect(again.writtenPoint == nil && again.commitPoint == written)
        #expect(try CheckpointStore.summary(path: path).writtenPoint == nil)
    }

    @Test func oneRunPerCheckpointAtATime() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let path = folder.path("c.sqlite")
        do {
            let first = try CheckpointStore(path: path, identity: Self.identity())
            #expect(throws: CheckpointError.self) { try CheckpointStore(path: path, identity: Self.identity()) }
            _ = first
        }
        // Released with the store.
        _ = try CheckpointStore(path: path, identity: Self.identity())
    }

    @Test func databaseIsPrivateAndInWALMode() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let store = try CheckpointStore(path: folder.path("c.sqlite"), identity: Self.identity())
        try store.write([RecordResult(seq: 0, status: .done, bfid: "b", tokens: ["t"])])
        for suffix in ["", "-wal"] {
            let mode = try FileManager.default.attributesOfItem(atPath: store.path + suffix)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(suffix) mode")
        }
        let summary = try CheckpointStore.summary(path: store.path)
        #expect(summary.done == 1 && !summary.complete)
        try store.commit(CommitPoint(seq: 0, inputOffset: 1, inputLine: 2, outputOffset: 3, rejectsOffset: 4), complete: true)
        #expect(try CheckpointStore.summary(path: store.path).complete)
    }

    @Test func fingerprintsFollowContentAndSize() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let small = folder.path("small")
        try Data("abc".utf8).write(to: URL(fileURLWithPath: small))
        let key = DigestKey(secret: "k")
        let first = try InputFingerprint.of(path: small, key: key)
        #expect(first.size == 3)
        try Data("abd".utf8).write(to: URL(fileURLWithPath: small))
        #expect(try InputFingerprint.of(path: small, key: key).digest != first.digest)
        let large = folder.path("large")
        var bytes = [UInt8](repeating: 7, count: 5 << 20)
        try Data(bytes).write(to: URL(fileURLWithPath: large))
        let before = try InputFingerprint.of(path: large, key: key)
        bytes[bytes.count - 1] = 8
        try Data(bytes).write(to: URL(fileURLWithPath: large))
        #expect(try InputFingerprint.of(path: large, key: key).digest != before.digest)
    }

    /// The fingerprint of a small input (a few records) is keyed: no plain SHA-256 of card data,
    /// which could be searched by hashing guesses. Another key, another digest.
    @Test func fingerprintsAreKeyed() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let small = folder.path("small")
        let content = Array("id,card\n1,4000001234567899\n".utf8)
        try Data(content).write(to: URL(fileURLWithPath: small))
        let fingerprint = try InputFingerprint.of(path: small, key: DigestKey(secret: "Basic a2V5"))
        let plain = SHA256.hash(data: Array(String(content.count).utf8) + content).map { String(format: "%02x", $0) }.joined()
        let wholePlain = SHA256.hash(data: content).map { String(format: "%02x", $0) }.joined()
        #expect(fingerprint.digest != plain && fingerprint.digest != wholePlain)
        #expect(try InputFingerprint.of(path: small, key: DigestKey(secret: "Basic b3RoZXI=")).digest != fingerprint.digest)
        #expect(try InputFingerprint.of(path: small, key: DigestKey(secret: "Basic a2V5")).digest == fingerprint.digest)
    }
}
