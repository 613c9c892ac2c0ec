import Foundation
import Testing
import TestSupport

/// Issue 29: repeated values. A dry run says how many values repeat an earlier one (per field,
/// and records whose values all repeat an earlier record's: what deduplication would not send),
/// counted by keyed digests: no card number is printed or held.
@Suite struct DedupTests {
    @Test func aDryRunCountsRepeatedValuesPerFieldAndPerRecord() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        // 30 distinct cards, then 20 rows repeating the first 10 twice over (one with a new CVV:
        // its number repeats, the record does not), and 2 rows with no card number.
        var lines = ["id,card_number,card_cvv"]
        for index in 0..<30 { lines.append("r\(index),\(TestCards.pan(index)),\(100 + index)") }
        for index in 0..<20 { lines.append("s\(index),\(TestCards.pan(index % 10)),\(index == 19 ? 999 : 100 + index % 10)") }
        lines += ["e1,,5", "e2,,6"]
        let input = folder.path("cards.csv")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: input))
        let dry = try BinaryLauncher.run([
            "run", "--input", input, "--map", "card_number=card_number:skip-empty", "--map", "card_cvv=card_cvv", "--dry-run",
        ])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("card_number: 20 of 50 repeat an earlier one (40.0%)"), "\(dry.stdout)")
        #expect(dry.stdout.contains("card_cvv: 19 of 52 repeat an earlier one (36.5%)"), "\(dry.stdout)")
        #expect(dry.stdout.contains("records (all their values): 19 of 52 repeat an earlier one (36.5%)"), "\(dry.stdout)")
        for index in 0..<30 { #expect(!dry.stdout.contains(TestCards.pan(index)) && !dry.stderr.contains(TestCards.pan(index))) }
    }
}
