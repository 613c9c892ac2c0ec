/// A read-only connection to a job's checkpoint, beside the one writer that owns the
/// ``CheckpointStore`` (WAL mode lets it read while the writer writes): a resuming run reads the
/// results of earlier runs through it, on its event loop, without waiting for the writer.
/// Not `Sendable`: it belongs to the loop that reads.
public final class CheckpointReader {
    private let database: SQLiteDatabase

    /// Opens the checkpoint at `path`, which a ``CheckpointStore`` has created.
    public init(path: String) throws {
        database = try SQLiteDatabase(path: path, mode: .readOnly)
    }

    /// The latest stored result of every seq in `range` (the results of earlier runs a resume
    /// may reuse: answers that came back out of order before a crash).
    public func results(in range: ClosedRange<Int>) throws -> [Int: RecordResult] {
        try CheckpointStore.storedResults(in: range, database: database)
    }

    /// The tokens and bfid a deduplicating job kept for records of this digest
    /// (``CheckpointStore/Configuration/remembersValues``), if any (committed by the writer).
    public func remembered(_ digest: RecordDigest) throws -> ResultTexts? {
        let select = try database.statement("SELECT texts FROM remembered_value WHERE digest = ?")
        try select.bind(1, blob: digest.bytes)
        guard try select.step(), let bytes = select.blob(0) else { return nil }
        return ResultTexts(bytes: bytes)
    }

    /// Calls `body` with the digest of every answer a deduplicating job kept.
    public func forEachRemembered(_ body: (RecordDigest) -> Void) throws {
        let select = try database.statement("SELECT digest FROM remembered_value")
        while try select.step() {
            if let bytes = select.blob(0) { body(RecordDigest(bytes: bytes)) }
        }
    }
}
