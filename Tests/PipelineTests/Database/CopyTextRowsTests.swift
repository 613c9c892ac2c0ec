@testable import Pipeline
import ShieldConex
import Testing

/// Output lines become rows of COPY's text format: a CSV line's NULL (an empty unquoted field)
/// and empty string (`""`) stay apart, and a value's commas, quotes, tabs, line breaks and
/// backslashes arrive as they were.
@Suite struct CopyTextRowsTests {
    static func rows(csv: String) -> String {
        var out: [UInt8] = []
        CopyTextRows.appendCSV(ArraySlice(Array(csv.utf8)), to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test(arguments: [
        ("a,b,c\n", "a\tb\tc\n"),
        (",\"\",x\n", "\\N\t\tx\n"),
        ("k,\n", "k\t\\N\n"),
        ("\"a,b\",\"say \"\"hi\"\"\",c\n", "a,b\tsay \"hi\"\tc\n"),
        ("\"line\nbreak\",\"tab\there\",back\\slash\n", "line\\nbreak\ttab\\there\tback\\\\slash\n"),
        ("\"cr\r\n\",x\r\n", "cr\\r\\n\tx\n"),
        ("1,2\n3,\n", "1\t2\n3\t\\N\n"),
    ])
    func csvLinesBecomeCopyRows(csv: String, copy: String) {
        #expect(Self.rows(csv: csv) == copy)
    }

    @Test func jsonLinesOnlyEscapeBackslashes() {
        var out: [UInt8] = []
        CopyTextRows.appendJSON(ArraySlice(Array(#"{"a":"x\"y\\z"}"#.utf8) + [0x0A]), to: &out)
        #expect(String(decoding: out, as: UTF8.self) == #"{"a":"x\\"y\\\\z"}"# + "\n")
    }

    /// Random rows of values made of the bytes that matter (quotes, commas, backslashes, tabs,
    /// line breaks, carriage returns, non-ASCII) and NULLs, written as CSV lines, come back from
    /// the COPY rows value for value.
    @Test func randomCSVLinesComeBackValueForValue() {
        var random = SplitMix64(seed: 7)
        let alphabet: [String] = ["a", "7", ",", "\"", "\\", "\t", "\n", "\r", "é", "xyzxyzxyz"]
        for _ in 0..<300 {
            var rows: [[String?]] = []
            var csv = ""
            for _ in 0..<Int(random.next() % 4 + 1) {
                var row: [String?] = []
                for _ in 0..<Int(random.next() % 5 + 1) {
                    if random.next() % 6 == 0 {
                        row.append(nil)
                        continue
                    }
                    row.append((0..<Int(random.next() % 6)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }.joined())
                }
                rows.append(row)
                csv += row.map { value in value.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" } ?? "" }.joined(separator: ",") + "\n"
            }
            #expect(Self.parseCopy(Self.rows(csv: csv)) == rows, "\(csv.debugDescription)")
        }
    }

    /// COPY's text format read back: rows by line feed, values by tab, `\N` a NULL, escapes undone.
    static func parseCopy(_ text: String) -> [[String?]] {
        text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { line in
            line.split(separator: "\t", omittingEmptySubsequences: false).map { field -> String? in
                if field == "\\N" { return nil }
                var value = ""
                var escaped = false
                for character in field {
                    if escaped {
                        value.append(["n": "\n", "t": "\t", "r": "\r"][character] ?? character)
                        escaped = false
                    } else if character == "\\" {
                        escaped = true
                    } else {
                        value.append(character)
                    }
                }
                return value
            }
        }
    }
}
