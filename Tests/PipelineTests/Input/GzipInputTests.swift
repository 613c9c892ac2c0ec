import Foundation
import Testing

@testable import Pipeline
import TestSupport

/// gzip inputs are read as the bytes they inflate to: the same records at the same positions as
/// the plain file, from one member or many, from the start or from a position; a stream cut
/// short or damaged is an error that names the record it stopped at, after the whole records
/// before it.
@Suite struct GzipInputTests {
    /// A CSV of `rows` generated cards, with a quoted multi-line note now and then.
    static func csv(rows: Int) -> String {
        var text = "id,card_number,note\n"
        for index in 0..<rows {
            text += "\(index),\(TestCards.pan(index)),\(index % 7 == 0 ? "\"two\nlines\"" : "n\(index)")\n"
        }
        return text
    }

    /// Every record of the file at `path` (from `position`): its number, position and bytes.
    static func records(_ path: String, format: InputFormat = .csv, from position: RecordPosition? = nil) throws -> [InputRecord] {
        var (reader, _) = try InputSource.open(path: path, format: format, from: position)
        var records: [InputRecord] = []
        while let record = try reader.next() { records.append(record) }
        return records
    }

    static func same(_ left: [InputRecord], _ right: [InputRecord]) -> Bool {
        left.count == right.count && zip(left, right).allSatisfy { $0.position == $1.position && $0.bytes == $1.bytes }
    }

    @Test func aGzipFileReadsAsItsPlainBytes() throws {
        let plain = Array(Self.csv(rows: 5_000).utf8)
        let folder = try TestFolder(prefix: "gzip-input")
        defer { folder.remove() }
        try Data(plain).write(to: folder.url.appendingPathComponent("cards.csv"))
        // Named without .gz: found by its magic bytes.
        try Data(try GzipTool.compress(plain)).write(to: folder.url.appendingPathComponent("cards.data"))
        let expected = try Self.records(folder.path("cards.csv"))
        #expect(expected.count == 5_000)
        #expect(Self.same(try Self.records(folder.path("cards.data")), expected))
    }

    /// Members cut anywhere (inside a record, inside a UTF-8 sequence), then zero padding: the
    /// same records.
    @Test func membersOneAfterAnotherAndZeroPaddingReadAsOneStream() throws {
        let plain = Array(Self.csv(rows: 3_000).utf8)
        let folder = try TestFolder(prefix: "gzip-input")
        defer { folder.remove() }
        try Data(plain).write(to: folder.url.appendingPathComponent("cards.csv"))
        var members: [UInt8] = []
        for range in [0..<1, 1..<40_001, 40_001..<40_007, 40_007..<plain.count] {
            members += try GzipTool.compress(Array(plain[range]), level: range.count % 9 + 1)
        }
        try Data(members + [UInt8](repeating: 0, count: 512)).write(to: folder.url.appendingPathComponent("cards.csv.gz"))
        #expect(Self.same(try Self.records(folder.path("cards.csv.gz")), try Self.records(folder.path("cards.csv"))))
    }

    /// A resume starts at a position in the inflated bytes: the same records as the plain file's
    /// from there, for CSV and NDJSON.
    @Test(arguments: [InputFormat.csv, .ndjson])
    func aPositionInsideTheStreamIsReachedByInflating(format: InputFormat) throws {
        var text = format == .csv ? "id,card_number\n" : ""
        for index in 0..<4_000 {
            text += format == .csv ? "\(index),\(TestCards.pan(index))\n" : "{\"id\":\(index),\"card_number\":\"\(TestCards.pan(index))\"}\n"
        }
        let plain = Array(text.utf8)
        let folder = try TestFolder(prefix: "gzip-input")
        defer { folder.remove() }
        try Data(plain).write(to: folder.url.appendingPathComponent("cards"))
        try Data(try GzipTool.compress(plain)).write(to: folder.url.appendingPathComponent("cards.gz"))
        let all = try Self.records(folder.path("cards"), format: format)
        let from = all[2_777].position
        let expected = try Self.records(folder.path("cards"), format: format, from: from)
        #expect(expected.count == 4_000 - 2_777)
        #expect(Self.same(try Self.records(folder.path("cards.gz"), format: format, from: from), expected))
        #expect(Self.same(try Self.records(folder.path("cards.gz"), format: format), all))
    }

    /// Cut short: the whole records before the cut, then an error naming where it stopped.
    @Test func aStreamCutShortEndsWithAnErrorAfterTheWholeRecords() throws {
        let plain = Array(Self.csv(rows: 20_000).utf8)
        let compressed = try GzipTool.compress(plain)
        let file = try TempFile(bytes: Array(compressed.prefix(compressed.count / 2)), name: "cards.csv.gz")
        defer { file.remove() }
        var (reader, _) = try InputSource.open(path: file.path, format: .csv)
        var read = 0
        let error = #expect(throws: CompressedInputError.self) {
            while let record = try reader.next() {
                #expect(record.position.seq == read)
                if case .invalid = record.content { Issue.record("record \(read) is not whole") }
                read += 1
            }
        }
        #expect(error?.kind == .truncated)
        #expect(read > 5_000 && read < 20_000, "\(read)")
        #expect(error?.record?.seq == read)
        #expect(error?.description.contains("ends early") == true && error?.description.contains("record \(read) ") == true, "\(error!)")
    }

    /// A byte of the CRC-32 changed, or of the deflate data, or data after the padding: an
    /// error, never a silent end or a silent record.
    @Test(arguments: ["crc", "data", "trailing"])
    func aDamagedStreamIsAnError(damage: String) throws {
        let plain = Array(Self.csv(rows: 2_000).utf8)
        var compressed = try GzipTool.compress(plain)
        switch damage {
        case "crc": compressed[compressed.count - 8] ^= 0x01
        case "data": compressed[compressed.count / 2] ^= 0x55
        default: compressed += [0, 0, 0, 0x41]
        }
        let file = try TempFile(bytes: compressed, name: "cards.csv.gz")
        defer { file.remove() }
        var (reader, _) = try InputSource.open(path: file.path, format: .csv)
        let error = #expect(throws: CompressedInputError.self) {
            while try reader.next() != nil {}
        }
        #expect(error?.kind == (damage == "trailing" ? .trailingData : .corrupt), "\(error.map { "\($0)" } ?? "none")")
    }

    @Test func aFileNamedGzThatIsNotGzipIsRefused() throws {
        let file = try TempFile("id,card_number\n1,2\n", name: "cards.csv.gz")
        defer { file.remove() }
        let error = #expect(throws: ChunkedFileReader.IOError.self) {
            _ = try InputSource.open(path: file.path, format: .csv)
        }
        #expect(error?.kind == .notGzip)
        #expect(error?.description.contains("is named .gz but is not gzip") == true)
    }
}
