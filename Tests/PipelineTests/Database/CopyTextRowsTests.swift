@testable import Pipeline
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
}
