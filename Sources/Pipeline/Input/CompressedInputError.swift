/// A compressed input that cannot be inflated on: cut short, damaged, or followed by something
/// that is not compressed data. Names the record it stopped at, once a reader knows it (the
/// records before it are whole).
public struct CompressedInputError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The stream ends inside a member: the file was cut short.
        case truncated
        /// zlib refused the data (a bad header, a bad block, a CRC or length that does not match).
        case corrupt
        /// Something other than a member or zero padding after a member.
        case trailingData
    }

    public var kind: Kind
    /// The compressed byte at which it was found.
    public var compressedOffset: Int64
    public var detail: String
    /// Where the record the reader was reading starts (its number and line).
    public var record: RecordPosition?

    init(_ kind: Kind, compressedOffset: Int64, _ detail: String) {
        self.kind = kind
        self.compressedOffset = compressedOffset
        self.detail = detail
    }

    public var description: String {
        guard let record else { return detail }
        return "\(detail); the input stops at record \(record.seq) (line \(record.line)), the records before it are whole"
    }
}
