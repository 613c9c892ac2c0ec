import Foundation
import ShieldConex
import Testing

@testable import Pipeline
import TestSupport

@Suite struct MappingTests {
    static func pan(_ index: Int) -> String {
        TestCards.pan(index, prefix: "411111")
    }

    /// Maps every record of `text` and renders it with fake tokens (`T<n>` for value n) and bfid `B<seq>`.
    static func run(_ text: String, format: InputFormat, instructions: [Instruction]) throws -> (output: String, rejects: [RecordError.Code]) {
        let file = try TempFile(text)
        defer { file.remove() }
        var reader: any RecordReader
        var header: CSVHeader?
        if format == .csv {
            let csv = try CSVReader(path: file.path)
            header = csv.header
            reader = csv
        } else {
            reader = try NDJSONReader(path: file.path)
        }
        let mapper = try FieldMapper(instructions: instructions, format: format, header: header)
        let renderer = try OutputRenderer(format: format, header: header)
        var out = renderer.headerLine()
        var rejects: [RecordError.Code] = []
        while let record = try reader.next() {
            switch mapper.map(record) {
            case .success(let mapped):
                let tokens = mapped.values.indices.map { "T\($0)" }
                renderer.render(mapped, tokens: tokens, bfid: "B\(record.seq)", into: &out)
            case .failure(let error):
                rejects.append(error.code)
            }
        }
        return (String(decoding: out, as: UTF8.self), rejects)
    }

    @Test func csvKeepsUntouchedFieldsByteForByte() throws {
        let p = Self.pan(1)
        let input = "id,\"card\",name,notes\r\n1,\(p),\"Smith, J\",\"a \"\"q\"\"\"\r\n2,\"\(p)\",Bob,plain\n"
        let result = try Self.run(input, format: .csv, instructions: [Instruction(.key, "card", fieldName: "card_number")])
        #expect(result.output == "id,\"card\",name,notes,bfid\r\n1,T0,\"Smith, J\",\"a \"\"q\"\"\",B0\r\n2,\"T0\",Bob,plain,B1\n")
    }

    @Test func csvOptionsNormaliseSkipEmptyAndLuhn() throws {
        let p = Self.pan(2)
        let spaced = p.prefix(4) + " " + p.dropFirst(4).prefix(4) + "-" + p.dropFirst(8)
        let input = "id,card,exp\n1,\(spaced),1229\n2,,1230\n3,4111111111111112,0101\n"
        let instructions = [
            Instruction(.key, "card", fieldName: "card_number", skipEmpty: true, normalizeDigits: true, luhnCheck: true),
            Instruction(.key, "exp", fieldName: "card_exp"),
        ]
        let result = try Self.run(input, format: .csv, instructions: instructions)
        #expect(result.output == "id,card,exp,bfid\n1,T0,T1,B0\n2,,T0,B1\n")
        #expect(result.rejects == [.luhnCheckFailed])
    }

    /// Records that skip no column share one array of targets; one that skips a column in the
    /// middle gets its own, and the records after it share again.
    @Test func skippedColumnsAnywhereKeepEveryTokenInItsColumn() throws {
        let input = "a,b,c,d\n1,x,y,z\n2,x,,z\n3,,y,\n4,x,y,z\n"
        let instructions = [
            Instruction(.key, "b", fieldName: "f_b", skipEmpty: true),
            Instruction(.key, "c", fieldName: "f_c", skipEmpty: true),
            Instruction(.key, "d", fieldName: "f_d", skipEmpty: true),
        ]
        let result = try Self.run(input, format: .csv, instructions: instructions)
        #expect(result.output == "a,b,c,d,bfid\n1,T0,T1,T2,B0\n2,T0,,T1,B1\n3,,T0,,B2\n4,T0,T1,T2,B3\n")
        #expect(result.rejects.isEmpty)
    }

    @Test func regexTokenizesCardNumbersInsideFreeText() throws {
        let p = Self.pan(3)
        let input = "id,notes\n1,\"call back; card \(p), not 4111111111111112 ok\"\n2,nothing here\n"
        let instructions = [Instruction(.regex, "[0-9]{13,19}", fieldName: "card_number", source: "notes", luhnCheck: true)]
        let result = try Self.run(input, format: .csv, instructions: instructions)
        #expect(result.output == "id,notes,bfid\n1,\"call back; card T0, not 4111111111111112 ok\",B0\n2,nothing here,B1\n")
    }

    @Test func ndjsonReplacesValuesAtPathsAndKeepsTheRest() throws {
        let p = Self.pan(4)
        let input = "{\"id\": 1, \"card\": {\"number\": \"\(p)\", \"exp\": 1229}, \"x\": [true, null]}\n{}\n{\"card\":{}}\n"
        let instructions = [
            Instruction(.jsonpath, "$.card.number", fieldName: "card_number"),
            Instruction(.jsonpath, "$.card.exp", fieldName: "card_exp", skipEmpty: true),
        ]
        let result = try Self.run(input, format: .ndjson, instructions: instructions)
        #expect(result.output.hasPrefix("{\"id\": 1, \"card\": {\"number\": \"T0\", \"exp\": \"T1\"}, \"x\": [true, null],\"bfid\":\"B0\"}\n"))
        #expect(result.rejects == [.missingValue, .missingValue])
        let parsed = try JSONSerialization.jsonObject(with: Data(result.output.split(separator: "\n")[0].utf8)) as? [String: Any]
        #expect(parsed?["bfid"] as? String == "B0")
    }

    @Test func anExistingBfidIsReplacedInNDJSONAndRefusedAsACSVColumn() throws {
        let result = try Self.run("{\"bfid\":\"old\",\"pan\":\"\(Self.pan(5))\"}\n", format: .ndjson, instructions: [Instruction(.key, "pan", fieldName: "card_number")])
        #expect(result.output == "{\"bfid\":\"B0\",\"pan\":\"T0\"}\n")
        let header = CSVHeader(names: ["id", "bfid"], bytes: [], ending: .lf, dataStart: RecordPosition(seq: 0, offset: 0, line: 2), hasByteOrderMark: false)
        #expect(throws: MappingError.self) { try OutputRenderer(format: .csv, header: header) }
        #expect(throws: Never.self) { try OutputRenderer(format: .csv, header: header, bfidColumn: "scx_bfid") }
    }

    /// Two instructions that read one place (`$.card.cvv` to two fields) trapped in the NDJSON
    /// renderer after the answers were checkpointed, and lost a token on CSV: refused up front.
    @Test func twoInstructionsReadingOnePlaceAreRefused() throws {
        let header = CSVHeader(names: ["id", "card"], bytes: [], ending: .lf, dataStart: RecordPosition(seq: 0, offset: 0, line: 2), hasByteOrderMark: false)
        #expect(throws: MappingError(.mappedTwice, "instruction 2 (key 'card') reads the same place as instruction 1 (key 'card'); map each column or path once")) {
            try FieldMapper(instructions: [Instruction(.key, "card", fieldName: "a"), Instruction(.key, "card", fieldName: "b")], format: .csv, header: header)
        }
        #expect(throws: MappingError.self) {
            try FieldMapper(
                instructions: [Instruction(.key, "card", fieldName: "a"), Instruction(.regex, "[0-9]+", fieldName: "b", source: "card")], format: .csv,
                header: header
            )
        }
        #expect(throws: MappingError.self) {
            try FieldMapper(
                instructions: [Instruction(.jsonpath, "$.card.cvv", fieldName: "a"), Instruction(.jsonpath, "$['card']['cvv']", fieldName: "b")],
                format: .ndjson, header: nil
            )
        }
        #expect(throws: Never.self) {
            try FieldMapper(
                instructions: [Instruction(.jsonpath, "$.card.cvv", fieldName: "a"), Instruction(.jsonpath, "$.card.exp", fieldName: "b")],
                format: .ndjson, header: nil
            )
        }
    }

    /// Each refusal says what kind it is (a caller decides on the kind, never on the words).
    @Test func everyRefusalHasItsKind() throws {
        let header = CSVHeader(
            names: ["id", "card", "card", "bfid"], bytes: [], ending: .lf, dataStart: RecordPosition(seq: 0, offset: 0, line: 2), hasByteOrderMark: false
        )
        func kind(_ body: () throws -> Void) -> MappingError.Kind? {
            do { try body() } catch let error as MappingError { return error.kind } catch {}
            return nil
        }
        #expect(kind { _ = try FieldMapper(instructions: [], format: .csv, header: header) } == .noMapping)
        #expect(kind { _ = try FieldMapper(instructions: [Instruction(.regex, "[0-9", fieldName: "f", source: "id")], format: .csv, header: header) } == .invalidInstruction)
        #expect(kind { _ = try FieldMapper(instructions: [Instruction(.jsonpath, "$.a[", fieldName: "f")], format: .ndjson, header: nil) } == .invalidInstruction)
        #expect(kind { _ = try FieldMapper(instructions: [Instruction(.key, "pan", fieldName: "f")], format: .csv, header: header) } == .unknownColumn)
        #expect(kind { _ = try FieldMapper(instructions: [Instruction(.key, "card", fieldName: "f")], format: .csv, header: header) } == .ambiguousColumn)
        #expect(
            kind { _ = try FieldMapper(instructions: [Instruction(.key, "id", fieldName: "f"), Instruction(.key, "bfid", fieldName: "f")], format: .csv, header: header) }
                == .mappedTwice
        )
        #expect(kind { _ = try OutputRenderer(format: .csv, header: header) } == .columnTaken)
        #expect(kind { _ = try JobAction.parse("encrypt") } == .unknownAction)
        let mapper = try FieldMapper(instructions: [Instruction(.key, "id", fieldName: "f")], format: .csv, header: header)
        #expect(kind { try RecordIdentifier(idColumn: "id", format: .csv, header: header).checkNotMapped(by: mapper, name: "id") } == .sensitiveColumn)
        // The parsers under the mapping.
        for (text, expected) in [("$.cards[*]", JSONPath.ParseError.Kind.unsupported), ("$", .wholeRecord), ("card", .syntax), ("$.a[", .syntax)] {
            do { _ = try JSONPath(parsing: text); Issue.record("\(text) parsed") } catch let error as JSONPath.ParseError {
                #expect(error.kind == expected, "\(text)")
            }
        }
        for (text, expected) in [("card", Instruction.ParseError.Kind.syntax), ("=f", .syntax), ("card=f:luhn,shout", .unknownOption)] {
            do { _ = try Instruction(shortForm: text); Issue.record("\(text) parsed") } catch let error as Instruction.ParseError {
                #expect(error.kind == expected, "\(text)")
            }
        }
    }

    @Test func invalidConfigurationIsReportedExactly() throws {
        let header = CSVHeader(names: ["id", "card"], bytes: [], ending: .lf, dataStart: RecordPosition(seq: 0, offset: 0, line: 2), hasByteOrderMark: false)
        #expect(throws: MappingError(.unknownColumn, "instruction 1 (key 'pan'): no column 'pan' in the header (columns: id, card)")) {
            try FieldMapper(instructions: [Instruction(.key, "pan", fieldName: "card_number")], format: .csv, header: header)
        }
        #expect(throws: MappingError(.mappedTwice, "instruction 2 (key 'card'): field 'card_number' is mapped twice")) {
            try FieldMapper(instructions: [Instruction(.key, "id", fieldName: "card_number"), Instruction(.key, "card", fieldName: "card_number")], format: .csv, header: header)
        }
        #expect(throws: MappingError.self) {
            try FieldMapper(instructions: [Instruction(.regex, "[0-9", fieldName: "f", source: "card")], format: .csv, header: header)
        }
        #expect(throws: MappingError.self) {
            try FieldMapper(instructions: [Instruction(.jsonpath, "$.a[", fieldName: "f")], format: .ndjson, header: nil)
        }
        #expect(throws: MappingError.self) {
            try FieldMapper(instructions: [Instruction(.jsonpath, "$.a", fieldName: "f")], format: .csv, header: header)
        }
    }

    @Test func shortFormParses() throws {
        let simple = try Instruction(shortForm: "card_number=scx_token_card_number")
        #expect(simple == Instruction(.key, "card_number", fieldName: "scx_token_card_number"))
        let path = try Instruction(shortForm: "$.card.number=card_number:luhn,digits,skip-empty")
        #expect(path == Instruction(.jsonpath, "$.card.number", fieldName: "card_number", skipEmpty: true, normalizeDigits: true, luhnCheck: true))
        #expect(throws: Instruction.ParseError.self) { try Instruction(shortForm: "nonsense") }
        #expect(throws: Instruction.ParseError.self) { try Instruction(shortForm: "a=b:fast") }
    }
}

/// A record whose regex finds several values is split into requests that never name a field twice.
struct RequestGroupTests {
    @Test func theKthValueOfEachFieldGoesInTheKthRequest() {
        #expect(MappedRecord.groups(of: ["a", "b", "c"]) == [[0, 1, 2]])
        #expect(MappedRecord.groups(of: ["n", "e", "x", "x", "x"]) == [[0, 1, 2], [3], [4]])
        #expect(MappedRecord.groups(of: ["x", "a", "x", "b", "x"]) == [[0, 1, 3], [2], [4]])
        #expect(MappedRecord.groups(of: []) == [])
        for groups in [MappedRecord.groups(of: ["x", "a", "x", "b", "x"]), MappedRecord.groups(of: ["n", "e", "x", "x"])] {
            #expect(groups.flatMap { $0 }.sorted() == Array(0..<groups.flatMap { $0 }.count), "every value in exactly one group")
        }
    }
}

/// The id column names records in the rejects file and the report: it may not be one the
/// mapping reads (its values are what the job protects).
struct IdColumnTests {
    static let header = CSVHeader(
        names: ["id", "card", "notes"], bytes: [], ending: .lf, dataStart: RecordPosition(seq: 0, offset: 0, line: 2), hasByteOrderMark: false
    )

    @Test func aMappedColumnOrRegexSourceIsRefused() throws {
        let mapper = try FieldMapper(
            instructions: [Instruction(.key, "card", fieldName: "card_number"), Instruction(.regex, "[0-9]{13,19}", fieldName: "acct", source: "notes")],
            format: .csv, header: Self.header
        )
        for name in ["card", "notes"] {
            #expect(throws: MappingError.self) { try RecordIdentifier(idColumn: name, format: .csv, header: Self.header).checkNotMapped(by: mapper, name: name) }
        }
        #expect(throws: Never.self) { try RecordIdentifier(idColumn: "id", format: .csv, header: Self.header).checkNotMapped(by: mapper, name: "id") }
    }

    @Test func aPathInsideOrAroundAMappedOneIsRefused() throws {
        let mapper = try FieldMapper(instructions: [Instruction(.jsonpath, "$.card.number", fieldName: "card_number")], format: .ndjson, header: nil)
        for name in ["card", "$.card", "$.card.number", "$['card']['number']"] {
            #expect(throws: MappingError.self, "\(name)") {
                try RecordIdentifier(idColumn: name, format: .ndjson, header: nil).checkNotMapped(by: mapper, name: name)
            }
        }
        #expect(throws: Never.self) { try RecordIdentifier(idColumn: "id", format: .ndjson, header: nil).checkNotMapped(by: mapper, name: "id") }
    }
}

/// A CSV without a header row makes its first data row the header: the help that lists the
/// columns must not print its cells (a card number, an expiry, a CVV).
struct HeaderlessCSVTests {
    @Test func columnsThatCouldBeDataAreShownByPosition() throws {
        let file = try TempFile("4000001234567899,1229,123,Jane Doe\n4000001234567881,0130,456,John Roe\n")
        defer { file.remove() }
        let reader = try CSVReader(path: file.path)
        let error = #expect(throws: MappingError.self) {
            try FieldMapper(instructions: [Instruction(.key, "card_number", fieldName: "card_number")], format: .csv, header: reader.header)
        }
        let message = error?.description ?? ""
        #expect(message.contains("#1, #2, #3"), "\(message)")
        for cell in ["4000001234567899", "1229", "123,"] { #expect(!message.contains(cell), "\(message)") }
        let id = #expect(throws: MappingError.self) { try RecordIdentifier(idColumn: "id", format: .csv, header: reader.header) }
        let idMessage = id.map { "\($0)" } ?? ""
        #expect(idMessage.contains("#1") && !idMessage.contains("4000001234567899"), "\(idMessage)")
    }
}

/// Inputs the fuzzers found, kept as regression tests (Fuzz/artifacts/…).
struct FuzzRegressionTests {
    /// Fuzz/FuzzJobFile: an empty job file reached FoundationEssentials' file reader, which leaks
    /// 4 KiB for an empty file; it is refused before that, with a clear message.
    @Test func anEmptyJobFileIsRefusedBeforeItIsRead() throws {
        let file = try TempFile("")
        defer { file.remove() }
        let error = #expect(throws: JobConfiguration.LoadError.self) { try JobConfiguration.load(path: file.path) }
        #expect(error?.description.contains("is empty") == true)
    }
}
