import Checkpoint
import ShieldConex

/// A record with the values to send and where each returned token goes.
public struct MappedRecord: Sendable {
    /// Where tokens are written back into the record.
    public struct Target: Sendable {
        public enum Location: Sendable, Hashable {
            /// The CSV field at this index.
            case csvField(Int)
            /// The JSON value at this byte range of the line.
            case json(Range<Int>)
        }

        public var location: Location
        /// The text at the location as read (decoded): what regex matches are replaced in. A
        /// whole-value target never needs it; those of whole CSV columns leave it empty (they are
        /// shared by every record that skips no column).
        public var original: String
        /// For a whole-value target, the index of the value whose token replaces the text (no
        /// array allocated per record for the common case); `nil` for regex matches.
        public var wholeValueIndex: Int?
        /// For regex matches, the ranges (in UTF-8 offsets of `original`) that the tokens replace.
        public var matches: [(range: Range<Int>, valueIndex: Int)]
        /// For the matches of a regex instruction with luhnCheck, its ordinal among those: the
        /// tokenize job records where its tokens went (``spansText(of:count:tokenLength:)``).
        public var spanOrdinal: Int?

        public init(location: Location, original: String, wholeValueIndex: Int) {
            self.location = location
            self.original = original
            self.wholeValueIndex = wholeValueIndex
            self.matches = []
        }

        public init(location: Location, original: String, matches: [(range: Range<Int>, valueIndex: Int)]) {
            self.location = location
            self.original = original
            self.wholeValueIndex = nil
            self.matches = matches
        }

        /// Calls `body` with the text's bytes with the values of `texts` in place: the value
        /// itself for a whole-value target (no copy), the original with its matches replaced for
        /// regex matches.
        public func withRendered<Result>(_ texts: ResultTexts, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
            var result: Result?
            texts.withRanges { bytes, _, values in
                result = withRendered({ index in index < values.count ? UnsafeRawBufferPointer(rebasing: bytes[values[index]]) : UnsafeRawBufferPointer(start: nil, count: 0) }, body)
            }
            return result!
        }

        /// The same, with the value at each index given by `value`.
        public func withRendered<Result>(_ value: (Int) -> UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
            if let wholeValueIndex { return body(value(wholeValueIndex)) }
            var bytes = Array(original.utf8)
            for match in matches.sorted(by: { $0.range.lowerBound > $1.range.lowerBound }) {
                bytes.replaceSubrange(match.range, with: value(match.valueIndex))
            }
            return bytes.withUnsafeBytes(body)
        }
    }

    public var record: InputRecord
    /// The `{name, value}` pairs to send, in order. Empty when nothing is to be tokenized.
    public var values: [FieldValue]
    public var targets: [Target]
    /// Whether `values` names a field more than once (a regex found several matches).
    public var repeatsNames = false

    public init(record: InputRecord, values: [FieldValue], targets: [Target], repeatsNames: Bool = false) {
        self.record = record
        self.values = values
        self.targets = targets
        self.repeatsNames = repeatsNames
    }

    /// The values split into requests that never name a field twice: the k-th request holds the
    /// k-th value of each field (indices into `values`, in order). `nil` when one request does.
    public var requestGroups: [[Int]]? {
        guard repeatsNames else { return nil }
        return Self.groups(of: values.map(\.name))
    }

    /// The k-th occurrence of each name goes to group k.
    public static func groups(of names: [String]) -> [[Int]] {
        var seen: [String: Int] = [:]
        var groups: [[Int]] = []
        for (index, name) in names.enumerated() {
            let occurrence = seen[name, default: 0]
            seen[name] = occurrence + 1
            if occurrence == groups.count { groups.append([]) }
            groups[occurrence].append(index)
        }
        return groups
    }

    /// Where the tokens of the regex instructions with luhnCheck are in the rendered texts, as
    /// the spans column holds it: per instruction (in order, `/` between them) the UTF-8 offset
    /// and length of each token in its field's text (`6-16+30-16`); `tokenLength` gives each
    /// value's token length. A detokenize job takes exactly these spans, never a number the
    /// tokenize job left alone.
    public static func spansText(of targets: [Target], count: Int, tokenLength: (Int) -> Int) -> String {
        var segments = [String](repeating: "", count: count)
        for target in targets {
            guard let ordinal = target.spanOrdinal, ordinal < count else { continue }
            var shift = 0
            var pairs: [String] = []
            for match in target.matches.sorted(by: { $0.range.lowerBound < $1.range.lowerBound }) {
                let length = tokenLength(match.valueIndex)
                pairs.append("\(match.range.lowerBound + shift)-\(length)")
                shift += length - match.range.count
            }
            segments[ordinal] = pairs.joined(separator: "+")
        }
        return segments.joined(separator: "/")
    }

    /// The bfid column of a record sent as several requests: their bfids, separated by a space
    /// (bfids are base64 and never hold one).
    public static let bfidSeparator: Character = " "
}
