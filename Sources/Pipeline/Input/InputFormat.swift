/// The format of an input (and its output).
public enum InputFormat: String, Sendable, Hashable, Codable, CaseIterable {
    case csv
    case ndjson

    /// The format a file name suggests: `.ndjson`, `.jsonl` and `.json` are NDJSON, the rest CSV.
    public static func guess(path: String) -> InputFormat {
        let lowered = path.lowercased()
        return [".ndjson", ".jsonl", ".json"].contains(where: lowered.hasSuffix) ? .ndjson : .csv
    }
}
