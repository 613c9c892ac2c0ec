/// How a line ended in the input; writers end the matching output line the same way.
public enum LineEnding: Sendable, Hashable {
    case lf
    case crlf
    /// The last record of a file without a final line break.
    case none

    public var bytes: [UInt8] {
        switch self {
        case .lf: [0x0A]
        case .crlf: [0x0D, 0x0A]
        case .none: []
        }
    }
}

/// Where a record starts: enough to seek straight to it and go on numbering from there.
public struct RecordPosition: Sendable, Hashable, Codable {
    /// The record's ordinal over data records, from 0 (the header is not a data record).
    public var seq: Int
    /// The byte offset in the file where the record starts.
    public var offset: Int64
    /// The 1-based line number where the record starts.
    public var line: Int

    public init(seq: Int, offset: Int64, line: Int) {
        self.seq = seq
        self.offset = offset
        self.line = line
    }
}

/// One data record as read: its position, its raw bytes (without the line break), and either
/// its parsed content or the reason it could not be parsed.
public struct InputRecord: Sendable {
    public enum Content: Sendable {
        case csv([CSVField])
        case json(JSONNode)
        case invalid(RecordError)
    }

    public var position: RecordPosition
    public var bytes: [UInt8]
    public var ending: LineEnding
    public var content: Content

    public var seq: Int { position.seq }
    /// The 1-based record number that users see in reports.
    public var number: Int { position.seq + 1 }

    public var error: RecordError? {
        if case .invalid(let error) = content { return error }
        return nil
    }
}

/// A reader of records, in file order, from the start or from a known position.
public protocol RecordReader {
    /// The next record, or `nil` at the end of the input. Throws only on I/O errors: a record that
    /// cannot be parsed is returned with ``InputRecord/Content/invalid(_:)``.
    mutating func next() throws -> InputRecord?
    /// Where the record after the last one returned starts.
    var nextPosition: RecordPosition { get }
    /// Takes back a record returned earlier and no longer used, whose buffers may serve the
    /// records read next.
    mutating func recycle(_ record: InputRecord)
    /// For a compressed file, the compressed bytes read so far (`nil` for a plain one): with the
    /// file's size, what the whole inflates to can be estimated.
    var compressedPosition: Int64? { get }
    /// For a stream (standard input), a keyed digest of its bytes before `offset` (a record's
    /// start, at or after any asked for before); `nil` for a file.
    func prefixDigest(through offset: Int64) -> String?
    /// No digest will be asked for again.
    func stopDigesting()
}

extension RecordReader {
    public mutating func recycle(_ record: InputRecord) {}
    public var compressedPosition: Int64? { nil }
    public func prefixDigest(through offset: Int64) -> String? { nil }
    public func stopDigesting() {}

    /// The next record and where the record after it starts, read in one access to the reader:
    /// through an existential, reading ``nextPosition`` on its own copied the whole reader.
    public mutating func nextWithPosition() throws -> (record: InputRecord, after: RecordPosition)? {
        guard let record = try next() else { return nil }
        return (record, nextPosition)
    }
}
