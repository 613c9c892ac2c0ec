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
        /// The text at the location as read (decoded).
        public var original: String
        /// For a whole-value target, one piece with `range == nil`; for regex matches, the
        /// ranges (in UTF-8 offsets of `original`) that the tokens replace.
        public var pieces: [(range: Range<Int>?, valueIndex: Int)]

        /// The text with tokens in place.
        public func rendered(tokens: [String]) -> String {
            if let piece = pieces.first, piece.range == nil { return tokens[piece.valueIndex] }
            var bytes = Array(original.utf8)
            for piece in pieces.sorted(by: { $0.range!.lowerBound > $1.range!.lowerBound }) {
                bytes.replaceSubrange(piece.range!, with: Array(tokens[piece.valueIndex].utf8))
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    public var record: InputRecord
    /// The `{name, value}` pairs to send, in order. Empty when nothing is to be tokenized.
    public var values: [FieldValue]
    public var targets: [Target]
}
