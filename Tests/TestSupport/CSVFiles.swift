import Foundation
import Pipeline

/// CSV files of the tests: generated inputs and outputs read back.
public enum CSVFiles {
    public struct BadRecord: Error, CustomStringConvertible {
        public var description: String
    }

    /// The header's names and every record's field values, read with the project's reader.
    public static func read(_ path: String) throws -> (header: [String], rows: [[String]]) {
        var reader = try CSVReader(path: path)
        var rows: [[String]] = []
        while let record = try reader.next() {
            guard case .csv(let fields) = record.content else { throw BadRecord(description: "bad record \(record.number) in \(path)") }
            rows.append(fields.map { $0.value(in: record.bytes) })
        }
        return (reader.header.names, rows)
    }

    /// The bytes ``generate(rows:to:)`` writes, in memory (for a test that must not put them on disk).
    public static func generated(rows: Int) -> [UInt8] {
        var bytes = Array("id,card_number,card_exp,card_cvv,name,notes\n".utf8)
        for index in 0..<rows {
            bytes += "C\(index),\(TestCards.pan(index)),1229,123,\"Doe, Jane\",".utf8
            bytes += (index % 10 == 0 ? "\"call back\nlater\"" : "ok").utf8
            bytes.append(0x0A)
        }
        return bytes
    }

    /// `rows` records of `id,card_number,card_exp,card_cvv,name,notes` (generated Luhn-valid
    /// test PANs; a quoted comma in every name, a quoted line break in every tenth note).
    public static func generate(rows: Int, to path: String) throws {
        let file = try OutputFile(path: path)
        try file.write(Array("id,card_number,card_exp,card_cvv,name,notes\n".utf8))
        var line: [UInt8] = []
        line.reserveCapacity(128)
        for index in 0..<rows {
            let pan = TestCards.pan(index)
            line.removeAll(keepingCapacity: true)
            line += "C\(index),\(pan),1229,123,\"Doe, Jane\",".utf8
            line += (index % 10 == 0 ? "\"call back\nlater\"" : "ok").utf8
            line.append(0x0A)
            try file.write(line)
        }
        try file.sync()
    }

    /// A CSV of `rows` good records (id, card_number, card_exp; Luhn-valid test PANs), mode 0600.
    public static func cards(rows: Int, to path: String) throws {
        var text = "id,card_number,card_exp\n"
        for row in 0..<rows { text += "\(row),\(TestCards.pan(row + 1)),1228\n" }
        try write(text, to: path)
    }

    /// Writes `text` to `path` with `mode`.
    public static func write(_ text: String, to path: String, mode: Int = 0o600) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    /// 3,000 records, every 97th with an empty card number (a reject), some with a quoted line break.
    public static func generateWithRejects(to path: String) throws {
        var text = "id,card_number,card_exp,card_cvv,name,notes\n"
        for index in 0..<3_000 {
            let pan = index % 97 == 5 ? "" : TestCards.pan(index)
            text += "C\(index),\(pan),1229,123,\"Doe, Jane\",\(index % 10 == 0 ? "\"call back\nlater\"" : "ok")\n"
        }
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }
}
