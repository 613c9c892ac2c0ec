import NIOCore

/// A table's rows for the engine: read a page ahead on a thread of their own
/// (``PrefetchingSource`` over a ``TableReader``), so that the engine's loop never waits on the
/// database. Each point the engine makes stores the key of the row before it in place of a
/// stream's digest (``CommitPoint/inputDigest``): a resume reads on after that key.
final class TableSource: RecordSource {
    private let prefetching: PrefetchingSource
    private let marks: TableKeyMarks
    /// Where this run began, and the key of the row before it (`nil`: the table's start).
    private let start: Int64
    private let startKey: String?
    let relation: TableRelation

    init(reader: TableReader, startKey: String?, loop: any EventLoop, depth: Int = 2_048) {
        marks = reader.marks
        start = reader.nextPosition.offset
        self.startKey = startKey
        relation = reader.relation
        prefetching = PrefetchingSource(reader, depth: depth, loop: loop)
    }

    func read() throws -> SourceRead { try prefetching.read() }

    var position: RecordPosition { prefetching.position }

    func prefixDigest(through offset: Int64) -> String? {
        offset == start ? startKey : marks.key(through: offset)
    }

    func stopDigesting() { marks.stop() }

    func recycle(_ record: InputRecord) {}

    func close() { prefetching.close() }
}
