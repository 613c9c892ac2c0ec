import Foundation
import Testing

@testable import Pipeline
import TestSupport

@Suite struct NDJSONReaderTests {
    static func readAll(path: String, from position: RecordPosition? = nil) throws -> [InputRecord] {
        var reader = try NDJSONReader(path: path, from: position)
        var records: [InputRecord] = []
        while let record = try reader.next() { records.append(record) }
        return records
    }

    @Test func objectsNestedValuesBlankLinesAndBadLines() throws {
        let text = """
            {"id":1,"card":{"number":"x1","exp":"1229"},"tags":[1,2,{"a":null}]}

            {"id":2, "cards":[{"pan":"p0"},{"pan":"p1"}], "card holder":"J\\u00e9"}\r
            [1,2]
            {"id":3,
               \t
            {"id":4}
            """
        let file = try TempFile(text)
        defer { file.remove() }
        let records = try Self.readAll(path: file.path)
        #expect(records.map(\.seq) == [0, 1, 2, 3, 4])
        #expect(records.map(\.position.line) == [1, 3, 4, 5, 7])
        #expect(records.map { $0.error?.code } == [nil, nil, .notAnObject, .invalidJSON, nil])
        #expect(records[1].ending == .crlf && records[4].ending == .none)
        guard case .json(let first) = records[0].content, case .json(let second) = records[1].content else {
            Issue.record("expected JSON")
            return
        }
        #expect(first.node(at: try JSONPath(parsing: "$.card.number")).map { if case .string(let s, _) = $0 { s } else { "" } } == "x1")
        #expect(second.node(at: try JSONPath(parsing: "$.cards[1].pan")).map { if case .string(let s, _) = $0 { s } else { "" } } == "p1")
        #expect(second.node(at: try JSONPath(parsing: "$['card holder']")).map { if case .string(let s, _) = $0 { s } else { "" } } == "Jé")
        #expect(second.node(at: try JSONPath(parsing: "$.cards[5].pan")) == nil)
    }

    @Test func readingFromEachRecordsPositionMatchesTheFullRead() throws {
        let text = (0..<200).map { i in i % 9 == 0 ? "\n{\"i\":\(i)}\r\n" : i % 13 == 0 ? "not json \(i)\n" : "{\"i\":\(i),\"s\":\"v\(i)\"}\n" }.joined()
        let file = try TempFile(text)
        defer { file.remove() }
        let full = try Self.readAll(path: file.path)
        #expect(full.count == 200)
        for (index, record) in full.enumerated() where index % 7 == 0 {
            let partial = try Self.readAll(path: file.path, from: record.position)
            #expect(partial.map(\.position) == full[index...].map(\.position))
            #expect(partial.map(\.bytes) == full[index...].map(\.bytes))
        }
    }

    @Test(arguments: ["$.a.b", "$.a[0].b", "$['a b']", "$[\"x\"]", "$.a['b.c'][2]"])
    func pathsParse(text: String) throws {
        #expect(try JSONPath(parsing: text).components.isEmpty == false)
    }

    @Test(arguments: ["a.b", "$", "$.", "$.a[", "$.a[x]", "$['a", "$.*", "$..a"])
    func badPathsAreRefused(text: String) {
        #expect(throws: JSONPath.ParseError.self) { try JSONPath(parsing: text) }
    }
}
