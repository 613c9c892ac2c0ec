/// The format of an input (and its output).
public enum InputFormat: String, Sendable, Hashable, Codable, CaseIterable {
    case csv
    case ndjson

    /// The format a file name suggests: `.ndjson`, `.jsonl` and `.json` are NDJSON, the rest CSV.
    public static func guess(path: String) -> InputFormat {
        var lowered = path.lowercased()
        // `cards.ndjson.gz` is NDJSON.
        if lowered.hasSuffix(".gz") { lowered.removeLast(3) }
        return [".ndjson", ".jsonl", ".json"].contains(where: lowered.hasSuffix) ? .ndjson : .csv
    }
}
