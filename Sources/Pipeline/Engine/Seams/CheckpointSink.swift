import Checkpoint

/// Where the engine's results and commit points become durable: the job's checkpoint. One writer
/// uses it, off the event loop, one batch after another (``CheckpointStage``).
public protocol CheckpointSink: AnyObject {
    /// Stores results (a later one for a seq replaces an earlier one) and, with `writtenThrough`,
    /// how far the output and rejects files reach (handed to the kernel, not synced).
    func write(_ results: [RecordResult], writtenThrough: CommitPoint?) throws
    /// Moves the commit point, durably; the files are synced up to it before this is called.
    func commit(_ point: CommitPoint, complete: Bool) throws
}

/// The results that earlier runs stored, read on the engine's loop beside the writer (a resume
/// reuses them).
public protocol StoredResults: AnyObject {
    func results(in range: ClosedRange<Int>) throws -> [Int: RecordResult]
    /// The tokens a deduplicating job kept for a record digest (``CheckpointReader/remembered(_:)``).
    func remembered(_ digest: RecordDigest) throws -> ResultTexts?
    /// The digest of every answer kept (``CheckpointReader/forEachRemembered(_:)``).
    func forEachRemembered(_ body: (RecordDigest) -> Void) throws
}

extension StoredResults {
    public func remembered(_ digest: RecordDigest) throws -> ResultTexts? { nil }
    public func forEachRemembered(_ body: (RecordDigest) -> Void) throws {}
}

extension CheckpointStore: CheckpointSink {}
extension CheckpointReader: StoredResults {}
