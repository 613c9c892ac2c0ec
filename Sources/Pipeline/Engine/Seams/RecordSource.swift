import NIOCore

/// What a read from a ``RecordSource`` gave.
public enum SourceRead: Sendable {
    /// The next record, and where the record after it starts.
    case record(InputRecord, after: RecordPosition)
    /// None is ready yet: the future completes (on the engine's loop) when one may be, or the end.
    case wait(EventLoopFuture<Void>)
    /// The input has no more records.
    case end
}

/// Where the engine's records come from, in order. Called on the engine's loop, and never blocks
/// it for long: a source that must wait (a pipe, a database cursor, an object stream) prefetches
/// a bounded number of records elsewhere and answers ``SourceRead/wait(_:)`` when it has none
/// ready. A local file is read where it is asked (``ReaderSource``).
public protocol RecordSource: AnyObject {
    /// The next record, a future to wait on, or the end. Throws for an input that cannot be read
    /// on (an I/O error); a record that cannot be parsed is a record, with its error.
    func read() throws -> SourceRead
    /// Where the record after the last one read starts (for progress).
    var position: RecordPosition { get }
    /// For a compressed input, the compressed bytes read so far (for progress; `nil` otherwise).
    var compressedPosition: Int64? { get }
    /// For a stream, a keyed digest of its bytes before `offset` (see ``RecordReader``).
    func prefixDigest(through offset: Int64) -> String?
    /// No digest will be asked for again (the commit point is frozen).
    func stopDigesting()
    /// Takes back a record that is written and no longer used: its buffers may serve the next.
    func recycle(_ record: InputRecord)
    /// The engine reads no more (its job ended): a source that reads ahead stops.
    func close()
}

extension RecordSource {
    public func close() {}
    public var compressedPosition: Int64? { nil }
    public func prefixDigest(through offset: Int64) -> String? { nil }
    public func stopDigesting() {}
}

/// A ``RecordReader`` read where it is asked: a local file (its reads are chunked and
/// bounded), or records in memory.
public final class ReaderSource: RecordSource {
    private var reader: any RecordReader

    public init(_ reader: any RecordReader) {
        self.reader = reader
    }

    public func read() throws -> SourceRead {
        guard let (record, after) = try reader.nextWithPosition() else { return .end }
        return .record(record, after: after)
    }

    public var position: RecordPosition { reader.nextPosition }

    public var compressedPosition: Int64? { reader.compressedPosition }

    public func prefixDigest(through offset: Int64) -> String? { reader.prefixDigest(through: offset) }

    public func stopDigesting() { reader.stopDigesting() }

    public func recycle(_ record: InputRecord) {
        reader.recycle(record)
    }
}
