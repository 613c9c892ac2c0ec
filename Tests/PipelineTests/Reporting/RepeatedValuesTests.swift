import Checkpoint
@testable import Pipeline
import ShieldConex
import Testing
import TestSupport

@Suite struct RepeatedValuesTests {
    @Test func belowTheLimitTheCountIsExactAndAboveItAnEstimateWithinTwoPercent() {
        var small = DistinctCounter(exactLimit: 1_000)
        var hashes = SplitMix64(seed: 1)
        let first = (0..<600).map { _ in hashes.next() }
        for hash in first + first.prefix(250) { small.add(hash) }
        #expect(small.count == 600 && !small.isEstimate)

        for distinct in [5_000, 300_000] {
            var large = DistinctCounter(exactLimit: 1_000)
            var stream = SplitMix64(seed: UInt64(distinct))
            var kept: [UInt64] = []
            for index in 0..<distinct {
                let hash = stream.next()
                large.add(hash)
                if index % 3 == 0 { kept.append(hash) }
            }
            for hash in kept { large.add(hash) }  // repeats change nothing
            #expect(large.isEstimate)
            let error = abs(Double(large.count - distinct)) / Double(distinct)
            #expect(error < 0.02, "\(large.count) for \(distinct) distinct")
        }
    }

    @Test func repeatsAreCountedPerFieldAndPerWholeRecordWithoutHoldingAValue() {
        var repeats = RepeatedValues(key: DigestKey(secret: "test"))
        func record(_ values: [(String, String)]) -> MappedRecord {
            MappedRecord(
                record: InputRecord(position: RecordPosition(seq: 0, offset: 0, line: 2), bytes: [], ending: .lf, content: .csv([])),
                values: values.map { FieldValue(name: $0.0, value: $0.1) }, targets: [])
        }
        let card = TestCards.pan(1)
        repeats.count(record([("card_number", card), ("card_cvv", "123")]))
        repeats.count(record([("card_number", card), ("card_cvv", "124")]))  // the number repeats, the record does not
        repeats.count(record([("card_number", card), ("card_cvv", "123")]))  // both repeat
        repeats.count(record([("card_number", TestCards.pan(2)), ("card_cvv", "123")]))
        repeats.count(record([]))  // nothing to send: not counted
        // The same text under another field is another value.
        repeats.count(record([("card_cvv", card)]))
        let fields = Dictionary(uniqueKeysWithValues: repeats.byField.map { ($0.field, ($0.values, $0.repeated)) })
        #expect(fields["card_number"]! == (4, 2))
        #expect(fields["card_cvv"]! == (5, 2))
        #expect(repeats.wholeRecords.records == 5 && repeats.wholeRecords.repeated == 1)
        #expect(!repeats.description.contains(card))
        #expect(repeats.description.contains("card_number: 2 of 4 repeat an earlier one (50.0%)"), "\(repeats.description)")
    }
}
