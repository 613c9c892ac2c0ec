import Foundation
import Checkpoint
import ShieldConex

/// How many of the values a job would send repeat one sent before it, per field and per
/// record (a record whose mapped values, all of them, are those of an earlier record: the same
/// request, a request deduplication would not send). Counted by keyed digests (the checkpoint's
/// record digest, under a key of the caller's), in bounded memory (``DistinctCounter``): no
/// value is held.
public struct RepeatedValues: Sendable, CustomStringConvertible {
    private let key: DigestKey
    private var seenByField: [String: Int] = [:]
    private var distinctByField: [String: DistinctCounter] = [:]
    private var records = 0
    private var distinctRecords = DistinctCounter()

    public init(key: DigestKey) {
        self.key = key
    }

    /// Counts a record that would be sent.
    public mutating func count(_ mapped: MappedRecord) {
        guard !mapped.values.isEmpty else { return }
        records += 1
        distinctRecords.add(UInt64(bitPattern: Int64(key.recordDigest(of: mapped.values).hashValue)))
        for value in mapped.values {
            let digest = key.recordDigest(of: [value])
            seenByField[value.name, default: 0] += 1
            distinctByField[value.name, default: DistinctCounter()].add(UInt64(bitPattern: Int64(digest.hashValue)))
        }
    }

    /// Per field: the values seen, how many repeat an earlier one, and whether that is estimated.
    public var byField: [(field: String, values: Int, repeated: Int, estimated: Bool)] {
        seenByField.keys.sorted().map { field in
            let distinct = distinctByField[field]!
            let seen = seenByField[field]!
            return (field, seen, max(0, seen - distinct.count), distinct.isEstimate)
        }
    }

    /// The records that would be sent, and how many repeat an earlier record's values.
    public var wholeRecords: (records: Int, repeated: Int, estimated: Bool) {
        (records, max(0, records - distinctRecords.count), distinctRecords.isEstimate)
    }

    public var description: String {
        func line(_ label: String, _ total: Int, _ repeated: Int, _ estimated: Bool) -> String {
            let share = total == 0 ? 0 : Double(repeated) / Double(total) * 100
            let about = estimated ? "about " : ""
            return "  \(label): \(about)\(repeated) of \(total) repeat an earlier one (\(about)\(String(format: "%.1f", share))%)"
        }
        var lines = ["repeated values (counted by keyed digests, none held):"]
        for field in byField { lines.append(line(field.field, field.values, field.repeated, field.estimated)) }
        let whole = wholeRecords
        lines.append(line("records (all their values)", whole.records, whole.repeated, whole.estimated))
        return lines.joined(separator: "\n")
    }
}
