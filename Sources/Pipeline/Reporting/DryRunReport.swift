/// What a dry run found: the input read and mapped in full, nothing sent.
public struct DryRunReport: Sendable, Hashable, Codable, CustomStringConvertible {
    public var recordsRead = 0
    /// Records with at least one value to send.
    public var recordsToSend = 0
    /// Records with nothing to tokenize (all mapped values empty and skipped); written as they are.
    public var recordsPassedThrough = 0
    public var valuesByField: [String: Int] = [:]
    public var rejectedByReason: [String: Int] = [:]

    public init() {}

    public var recordsRejected: Int { rejectedByReason.values.reduce(0, +) }

    /// Counts one record's outcome.
    public mutating func count(_ outcome: Result<MappedRecord, RecordError>) {
        recordsRead += 1
        switch outcome {
        case .success(let mapped):
            if mapped.values.isEmpty {
                recordsPassedThrough += 1
            } else {
                recordsToSend += 1
                for value in mapped.values { valuesByField[value.name, default: 0] += 1 }
            }
        case .failure(let error):
            rejectedByReason[error.code.rawValue, default: 0] += 1
        }
    }

    public var description: String {
        var lines = [
            "records read: \(recordsRead)",
            "records that would be sent: \(recordsToSend)",
            "records passed through untouched: \(recordsPassedThrough)",
            "records rejected: \(recordsRejected)",
        ]
        for (reason, count) in rejectedByReason.sorted(by: { $0.key < $1.key }) { lines.append("  \(reason): \(count)") }
        lines.append("values per field:")
        for (field, count) in valuesByField.sorted(by: { $0.key < $1.key }) { lines.append("  \(field): \(count)") }
        return lines.joined(separator: "\n")
    }
}
