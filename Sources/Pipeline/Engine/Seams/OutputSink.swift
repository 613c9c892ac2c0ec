import Checkpoint
/// Where the engine's output or rejects lines go: bytes handed over in order, then to the kernel
/// (``flush()``: a killed process keeps them), then durable (``sync()``). ``OutputFile`` is the real
/// one; ``GzipOutputFile`` compresses into one.
public protocol OutputSink: AnyObject {
    func write(_ bytes: [UInt8]) throws
    /// Hands everything written to the kernel, ending at a point a resume can cut the file back to.
    func flush() throws
    func sync() throws
    /// Every byte written so far (where the next line starts).
    var offset: Int64 { get }
    /// Where `point` (an ``offset`` at a ``flush()``) lies in the file's own bytes: the same for
    /// a plain file; for a compressed one, the end of the member that the flush ended.
    func fileOffset(of point: Int64) throws -> Int64
    /// No point before `point` is asked for again (it was committed).
    func committed(through point: Int64)
    /// Makes everything up to `point` durable as the commit point (a table writes the rows and
    /// the point in one transaction; a file syncs). Called before the checkpoint commits it, with
    /// the rejects file synced and its own length in `point`; the output offset is in lines.
    func sync(committing point: CommitPoint, complete: Bool) throws
    /// The fewest bytes written between two ``flush()``es that make points (a compressed file's
    /// members cost size when small); commits make points wherever they fall. 0: any.
    var pointSpacing: Int { get }
    /// Whether lines flushed (``flush()``) survive a kill of the process: a file's do (the kernel
    /// has them), so a point may be stored as written before the sink commits it; a table's do
    /// not (its rows reach the database only with a commit), so none is.
    var keepsFlushedLines: Bool { get }
    /// Where a sink whose commit is a long wait (a database's transaction) carries it out, in
    /// order, while the writer goes on storing results; `nil` (a file): on the writer, in
    /// ``sync(committing:complete:)``.
    var commitWorker: (any BlockingWorker)? { get }
    /// With a ``commitWorker``: takes what the commit through `point` writes (called on the
    /// writer's thread, in place of ``sync(committing:complete:)``) and returns the work that
    /// writes it, run on the commit worker before the checkpoint commits the same point.
    func commitWork(_ point: CommitPoint, complete: Bool) throws -> @Sendable () throws -> Void
}

extension OutputSink {
    public func fileOffset(of point: Int64) throws -> Int64 { point }
    public func committed(through point: Int64) {}
    public func sync(committing point: CommitPoint, complete: Bool) throws { try sync() }
    public var pointSpacing: Int { 0 }
    public var keepsFlushedLines: Bool { true }
    public var commitWorker: (any BlockingWorker)? { nil }
    public func commitWork(_ point: CommitPoint, complete: Bool) throws -> @Sendable () throws -> Void {
        try sync(committing: point, complete: complete)
        return {}
    }
}

extension OutputFile: OutputSink {}
