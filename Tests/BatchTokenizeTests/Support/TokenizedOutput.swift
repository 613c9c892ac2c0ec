import Testing
import TestSupport

/// What every tokenize run's output must be, for the suites that check one.
enum TokenizedOutput {
    /// Every output row matches its input row: untouched columns equal, mapped ones tokenized.
    static func check(input: String, output: String, expectedRows: Int, skipping rejected: Set<Int> = []) throws -> [[String]] {
        var source = try CSVFiles.read(input)
        source.rows = source.rows.enumerated().filter { !rejected.contains($0.offset + 1) }.map(\.element)
        let result = try CSVFiles.read(output)
        #expect(result.header == source.header + ["bfid"])
        #expect(result.rows.count == expectedRows)
        for (inRow, outRow) in zip(source.rows, result.rows) {
            #expect(outRow[0] == inRow[0], "records stay in input order")
            #expect(outRow[4] == inRow[4] && outRow[5] == inRow[5])
            let pan = inRow[1].filter(\.isNumber)
            if !pan.isEmpty {
                #expect(outRow[1] != pan && outRow[1].prefix(6) == pan.prefix(6) && outRow[1].suffix(4) == pan.suffix(4))
            }
            #expect(outRow[2] != inRow[2] && outRow[2].count == inRow[2].count)
            #expect(outRow[6].count == 84)
        }
        return result.rows
    }
}
