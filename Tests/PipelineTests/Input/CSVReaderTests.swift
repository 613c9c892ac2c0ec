import Foundation
import Testing

@testable import Pipeline
import TestSupport

@Suite struct CSVReaderTests {
    /// Reads a whole file: values of good records, and (number, line, code) of bad ones.
    static func readAll(_ text: String, delimiter: Character = ",") throws -> (header: [String], rows: [[String]], errors: [(Int, Int, RecordError.Code)], records: [InputRecord]) {
        let file = try TempFile(text)
        defer { file.remove() }
        return try readAll(path: file.path, delimiter: delimiter)
    }

    static func readAll(path: String, delimiter: Character = ",", from position: RecordPosition? = nil) throws -> (header: [String], rows: [[String]], errors: [(Int, Int, RecordError.Code)], records: [InputRecord]) {
        var reader = try CSVReader(path: path, delimiter: delimiter.asciiValue!, from: position)
        var rows: [[String]] = []
        var errors: [(Int, Int, RecordError.Code)] = []
        var records: [InputRecord] = []
        while let record = try reader.next() {
            records.append(record)
            switch record.content {
            case .csv(let fields): rows.append(fields.map { $0.value(in: record.bytes) })
            case .invalid(let error): errors.append((record.number, record.position.line, error.code))
            case .json: Issue.record("CSV reader returned JSON")
            }
        }
        return (reader.header.names, rows, errors, records)
    }

    @Test func quotedFieldsWithDelimitersQuotesAndLineBreaks() throws {
        let result = try Self.readAll("id,name,notes\n1,\"Smith, Jane\",\"said \"\"hi\"\"\"\n2,Bob,\"two\nlines\"\n3,,\n")
        #expect(result.header == ["id", "name", "notes"])
        #expect(result.rows == [["1", "Smith, Jane", "said \"hi\""], ["2", "Bob", "two\nlines"], ["3", "", ""]])
        #expect(result.records.map(\.position.line) == [2, 3, 5])
        #expect(result.errors.isEmpty)
    }

    @Test func crlfLfMixBomAndBlankLines() throws {
        let result = try Self.readAll("\u{FEFF}a,b\r\n1,2\n\n3,4\r\n\r\n5,6")
        #expect(result.header == ["a", "b"])
        #expect(result.rows == [["1", "2"], ["3", "4"], ["5", "6"]])
        #expect(result.records.map(\.ending) == [.lf, .crlf, .none])
        #expect(result.records.map(\.position.line) == [2, 4, 6])
        #expect(result.records.map(\.seq) == [0, 1, 2])
    }

    @Test(arguments: [Character("\t"), "|", ";"])
    func otherDelimiters(delimiter: Character) throws {
        let d = String(delimiter)
        let result = try Self.readAll("a\(d)b\n\"x\(d)y\"\(d)z\n", delimiter: delimiter)
        #expect(result.rows == [["x\(d)y", "z"]])
    }

    @Test func badRecordsAreReportedAndReadingGoesOn() throws {
        var bytes = Array("a,b\n1,2\n3\n4,\"x\"y\n5,6\n".utf8)
        bytes += [0x37, 0x2C, 0xFF, 0x0A]  // "7,\xFF\n"
        bytes += Array("8,\"open\n9,10\n".utf8)
        let file = try TempFile(bytes: bytes)
        defer { file.remove() }
        let result = try Self.readAll(path: file.path)
        #expect(result.rows == [["1", "2"], ["5", "6"], ["9", "10"]])
        #expect(result.errors.map(\.2) == [.wrongFieldCount, .badQuote, .invalidUTF8, .unterminatedQuote])
        #expect(result.errors.map(\.0) == [2, 3, 5, 6])
        #expect(result.errors.map(\.1) == [3, 4, 6, 7])
        #expect(result.records.map(\.seq) == Array(0..<7))
    }

    @Test func readingFromEachRecordsPositionMatchesTheFullRead() throws {
        let text = "id,v\r\n" + (0..<300).map { i in i % 7 == 0 ? "\(i),\"multi\nline \(i)\"\n" : i % 11 == 0 ? "\n\(i),x\r\n" : "\(i),v\(i)\n" }.joined()
        let file = try TempFile(text)
        defer { file.remove() }
        let full = try Self.readAll(path: file.path)
        #expect(full.rows.count == 300)
        for (index, record) in full.records.enumerated() where index % 13 == 0 {
            let partial = try Self.readAll(path: file.path, from: record.position)
            #expect(partial.records.map(\.position) == full.records[index...].map(\.position))
            #expect(partial.rows == Array(full.rows[index...]))
        }
    }

    @Test func recordsLargerThanTheReadWindowAreRead() throws {
        let big = String(repeating: "x", count: 600_000)
        let result = try Self.readAll("a,b\n1,\"\(big)\"\n2,y\n")
        #expect(result.rows.count == 2)
        #expect(result.rows[0][1].count == 600_000)
        #expect(result.rows[1] == ["2", "y"])
    }

    @Test func anEmptyFileHasNoHeader() throws {
        let file = try TempFile("")
        defer { file.remove() }
        #expect(throws: CSVReader.ConfigurationError.self) { try CSVReader(path: file.path) }
    }

    /// Random tables written with the CSV encoder read back as the same table.
    @Test func randomTablesRoundTrip() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [String] = ["a", "Z", "0", " ", ",", "\"", "\n", "\r\n", "é", "漢", "😀", ";", "|", "\t", "x"]
        for _ in 0..<40 {
            let columns = Int.random(in: 1...6, using: &generator)
            let rows = Int.random(in: 1...40, using: &generator)
            let delimiter = [UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "\t"), UInt8(ascii: "|")].randomElement(using: &generator)!
            func cell() -> String {
                (0..<Int.random(in: 0...8, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }.joined()
            }
            let header = (0..<columns).map { "c\($0)" }
            // A lone empty field would be a blank line, which CSV skips: give one-column rows content.
            let table = (0..<rows).map { _ in (0..<columns).map { _ in columns == 1 ? "v" + cell() : cell() } }
            var out: [UInt8] = []
            for row in [header] + table {
                for (index, value) in row.enumerated() {
                    if index > 0 { out.append(delimiter) }
                    CSVEncoding.append(value, quoted: Bool.random(using: &generator), delimiter: delimiter, to: &out)
                }
                out += Bool.random(using: &generator) ? [0x0D, 0x0A] : [0x0A]
            }
            let file = try TempFile(bytes: out)
            defer { file.remove() }
            let result = try Self.readAll(path: file.path, delimiter: Character(UnicodeScalar(delimiter)))
            #expect(result.errors.isEmpty)
            #expect(result.header == header)
            #expect(result.rows == table)
        }
    }

    /// Records read while earlier ones are handed back (``CSVReader/recycle(_:)``, as the engine
    /// does once their lines are written, a few records behind) are the records a plain read gives.
    @Test func recycledBuffersReadTheSameRecords() throws {
        let long = String(repeating: "y", count: 5000)
        let text = "id,name,notes\n1,\"Smith, Jane\",\"said \"\"hi\"\"\"\n2,Bob,\"two\nlines\"\n3,,\n4,\"bad\"x,1\n5,\(long),z\n6,a,b,c\n"
            + (7..<200).map { "\($0),\(String(repeating: "n", count: $0 % 37)),\(Bool.random() ? "q" : "\"r,\"")\n" }.joined()
        let file = try TempFile(text)
        defer { file.remove() }
        let expected = try Self.readAll(path: file.path).records
        var reader = try CSVReader(path: file.path)
        var held: [InputRecord] = []
        var read = 0
        while let record = try reader.next() {
            let want = expected[read]
            read += 1
            #expect(record.bytes == want.bytes && record.position == want.position && record.ending == want.ending)
            switch (record.content, want.content) {
            case (.csv(let fields), .csv(let wanted)): #expect(fields == wanted)
            case (.invalid(let error), .invalid(let wanted)): #expect(error.code == wanted.code)
            default: Issue.record("record \(record.number) read as another kind")
            }
            held.append(record)
            if held.count > Int.random(in: 0...5) { reader.recycle(held.removeFirst()) }
        }
        #expect(read == expected.count)
    }
}

@Suite struct UTF8ValidationTests {
    @Test(arguments: [
        ([UInt8](), true), (Array("plain ascii".utf8), true), (Array("é漢😀".utf8), true),
        ([0xC3], false), ([0xC0, 0x80], false), ([0xE0, 0x80, 0x80], false), ([0xED, 0xA0, 0x80], false),
        ([0xF4, 0x90, 0x80, 0x80], false), ([0xFF], false), ([0xE2, 0x82], false), ([0x80], false),
    ])
    func agreesWithTheStandardLibrary(bytes: [UInt8], valid: Bool) {
        #expect(UTF8Validation.isValid(bytes) == valid)
        #expect((String(validating: bytes, as: UTF8.self) != nil) == valid)
    }

    @Test func randomBytesAgreeWithTheStandardLibrary() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...8, using: &generator)).map { _ in
                [UInt8(0x41), 0x80, 0xBF, 0xC2, 0xC3, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xA0, 0x90, 0x8F].randomElement(using: &generator)!
            }
            #expect(UTF8Validation.isValid(bytes) == (String(validating: bytes, as: UTF8.self) != nil))
        }
    }

    /// Longer, mostly ASCII runs (read eight bytes at a time) with a non-ASCII byte anywhere in
    /// them, before, inside or after a word, and at the very end.
    @Test func mostlyASCIIRunsAgreeWithTheStandardLibrary() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in
                Int.random(in: 0..<10, using: &generator) < 8
                    ? UInt8.random(in: 0x20...0x7E, using: &generator)
                    : [UInt8(0x80), 0xBF, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0xFF].randomElement(using: &generator)!
            }
            #expect(UTF8Validation.isValid(bytes) == (String(validating: bytes, as: UTF8.self) != nil))
        }
        let ascii = Array("0123456789abcdef0123456789".utf8)
        for position in ascii.indices {
            var bytes = ascii
            bytes[position] = 0x80
            #expect(!UTF8Validation.isValid(bytes), "a stray continuation byte at \(position)")
            bytes[position] = 0xC3
            #expect(!UTF8Validation.isValid(bytes), "a lead byte without its continuation at \(position)")
        }
        #expect(UTF8Validation.isValid(ascii + Array("é".utf8)) && !UTF8Validation.isValid(ascii + [0xC3]))
    }
}

/// The record size limit holds inside an unquoted field and on the header line: a 100 MiB last
/// field was accepted and took the reader to 252 MiB.
struct CSVLimitTests {
    @Test func aLongUnquotedFieldIsARecordTooLargeAndReadingGoesOn() throws {
        let long = String(repeating: "x", count: 5 << 20)
        let file = try TempFile("id,notes\n1,short\n2,\(long)\n3,after\n")
        defer { file.remove() }
        var reader = try CSVReader(path: file.path, maxRecordBytes: 1 << 20)
        var records: [InputRecord] = []
        while let record = try reader.next() { records.append(record) }
        #expect(records.count == 3)
        guard records.count == 3 else { return }
        if case .invalid(let error) = records[1].content { #expect(error.code == .recordTooLarge) } else { Issue.record("record 2 was accepted") }
        #expect(records[1].bytes.count <= 1 << 20, "the reject keeps at most the limit")
        guard case .csv(let fields) = records[2].content else { Issue.record("record 3 is not read"); return }
        #expect(fields.map { $0.value(in: records[2].bytes) } == ["3", "after"])
        #expect(records[2].position.line == 4)
        // Reading from record 3's offset gives the same record.
        var resumed = try CSVReader(path: file.path, from: records[2].position, maxRecordBytes: 1 << 20)
        #expect(try resumed.next()?.bytes == records[2].bytes)
    }

    @Test func aHeaderLongerThanTheLimitIsRefused() throws {
        let file = try TempFile("id,\(String(repeating: "h", count: 2 << 20))\n1,2\n")
        defer { file.remove() }
        #expect(throws: (any Error).self) { try CSVReader(path: file.path, maxRecordBytes: 1 << 20) }
    }
}
