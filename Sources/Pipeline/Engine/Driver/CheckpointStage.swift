import Checkpoint
import NIOCore

/// The one stage of a run that touches the disk: every call into the ``CheckpointStore`` (results,
/// reads marked as sent, commit points) and every write and `fsync` of the output and rejects
/// files. The event loop collects a batch (results, output bytes, rejects bytes) and hands it to a
/// thread of the stage's own with ``submit(_:)``; the thread carries batches out in order, so the
/// loop never waits on the disk. The rest of the engine does not know when batches are written: it
/// asks ``undurable`` (results not yet safe from a kill) and ``isBusy`` (the writer is behind:
/// stop reading and sending until it catches up).
///
/// Called on the loop. The writer (a ``BlockingWorker``: a thread of its own) owns the checkpoint
/// and the files: the loop never touches them (and takes no lock), and reads the results of
/// earlier runs (a resume) through ``StoredResults`` of its own (a read-only connection).
final class CheckpointStage {
    enum Durability: Sendable {
        /// The batch's results reach the database (safe from a kill of the process).
        case stored
        /// ... and the output and rejects files are synced (the commit point stays put).
        case synced
        /// ... and the commit point moves to here, durably (`complete`: the job is done).
        case committed(CommitPoint, complete: Bool)
    }

    private struct Batch {
        var results: [RecordResult] = []
        var output: [UInt8] = []
        var rejects: [UInt8] = []
    }

    /// The last record whose line is in the batches (and the input position after it), while the
    /// engine lets the point move: each batch stores it with its results, after its bytes are
    /// handed to the kernel, and the results of the records up to it go without their tokens.
    /// `nil` once a transient failure freezes the commit point (the next run reads from there
    /// and renders the lines after it from stored tokens).
    var lastWritten: (seq: Int, after: RecordPosition)?

    let loop: any EventLoop
    private let writer: any BlockingWorker
    private let store: any CheckpointSink
    private let stored: any StoredResults
    private let output: any OutputSink
    private let rejects: any OutputSink
    private var batch = Batch()
    /// Batches in the writer's hands.
    private(set) var outstanding = 0
    private(set) var resultsInWriter = 0
    /// Where the output and rejects files end once every batch is written.
    private(set) var outputOffset: Int64
    private(set) var rejectsOffset: Int64
    /// The commit point as last submitted.
    private(set) var commitPoint: CommitPoint?
    /// The files' bytes (output and rejects) at the last point handed to the writer, and the
    /// fewest bytes between points the files want (``OutputSink/pointSpacing``): a batch short of
    /// it is stored without a point, its results with their tokens.
    private var bytesAtPoint: Int64
    private let pointSpacing: Int64
    /// Whether written points are stored at all: not for a sink whose flushed lines a kill loses
    /// (a table: a point stored before its commit would name rows that are not there).
    private let writesPoints: Bool
    /// The most batches in the writer's hands before ``isBusy``.
    let maxOutstanding = 2
    /// The digest of a record whose result is handed over before its line is written (set by the
    /// engine): results are recorded without one, and most never need it (their line is written
    /// first, and a result stored after its line is never reused).
    var digestOfUnwritten: (Int) -> RecordDigest? = { _ in nil }
    /// A streamed input's digest up to an offset (set by the engine; `nil` for a file).
    var inputDigest: (Int64) -> String? = { _ in nil }

    /// `commitPoint`: the checkpoint's, as the run found it (or as it adopted it).
    init(
        store: any CheckpointSink, stored: any StoredResults, commitPoint: CommitPoint?, output: any OutputSink, rejects: any OutputSink,
        writer: any BlockingWorker, loop: any EventLoop
    ) {
        self.store = store
        self.stored = stored
        self.output = output
        self.rejects = rejects
        self.writer = writer
        self.loop = loop
        outputOffset = output.offset
        rejectsOffset = rejects.offset
        self.commitPoint = commitPoint
        bytesAtPoint = output.offset + rejects.offset
        pointSpacing = Int64(max(output.pointSpacing, rejects.pointSpacing))
        writesPoints = output.keepsFlushedLines && rejects.keepsFlushedLines
    }

    /// Results recorded and not yet in the database: lost if the process dies now.
    var undurable: Int { batch.results.count + resultsInWriter }
    /// Results recorded and not yet handed to the writer.
    var unflushed: Int { batch.results.count }
    /// Commits whose transaction runs aside (a table's) and whose checkpoint commit is not yet
    /// made; the writer's own part of them is done (they are not ``outstanding``).
    private(set) var commitsAside = 0
    /// The most commits aside before ``isBusy``: the database behind by that many.
    let maxCommitsAside = 3
    var isBusy: Bool { outstanding >= maxOutstanding || commitsAside >= maxCommitsAside }
    /// Bytes of output waiting in the loop's batch.
    var bufferedBytes: Int { batch.output.count + batch.rejects.count }
    var hasWork: Bool { !batch.results.isEmpty || !batch.output.isEmpty || !batch.rejects.isEmpty }

    func record(_ result: RecordResult) {
        batch.results.append(result)
    }

    func writeOutput(_ line: [UInt8]) {
        batch.output.append(contentsOf: line)
        outputOffset += Int64(line.count)
    }

    /// Appends an output line that `render` writes straight into the batch (no line buffer copied).
    func writeOutput(_ render: (inout [UInt8]) -> Void) {
        let start = batch.output.count
        render(&batch.output)
        outputOffset += Int64(batch.output.count - start)
    }

    func writeReject(_ line: [UInt8]) {
        batch.rejects.append(contentsOf: line)
        rejectsOffset += Int64(line.count)
    }

    /// Hands the batch to the writer; the future completes on the loop once it is carried out
    /// with `durability`.
    @discardableResult
    func submit(_ durability: Durability = .stored) -> EventLoopFuture<Void> {
        var pointDue = writesPoints && outputOffset + rejectsOffset - bytesAtPoint >= pointSpacing
        if case .committed = durability { pointDue = writesPoints }
        let written = lastWritten.flatMap { lastWritten -> CommitPoint? in
            guard pointDue else { return nil }
            return CommitPoint(
                seq: lastWritten.seq, inputOffset: lastWritten.after.offset, inputLine: lastWritten.after.line, outputOffset: outputOffset,
                rejectsOffset: rejectsOffset, inputDigest: inputDigest(lastWritten.after.offset)
            )
        }
        if written != nil { bytesAtPoint = outputOffset + rejectsOffset }
        // The results stored with their tokens (past the written point) get their digests.
        for index in batch.results.indices where batch.results[index].seq > written?.seq ?? -1 && batch.results[index].recordDigest == nil {
            batch.results[index].recordDigest = digestOfUnwritten(batch.results[index].seq)
        }
        let work = batch
        batch = Batch()
        batch.results.reserveCapacity(work.results.count)
        batch.output.reserveCapacity(work.output.count)
        outstanding += 1
        resultsInWriter += work.results.count
        if case .committed(let point, _) = durability { commitPoint = point }
        let (store, output, rejects) = (self.store, self.output, self.rejects)
        let box = UnsafeTransfer((store, output, rejects))
        if case .committed(let point, let complete) = durability, let commitWorker = output.commitWorker {
            return submitCommittingAside(work, point: point, complete: complete, worker: commitWorker, box: box)
        }
        let done = writer.run(on: loop) {
            let (store, output, rejects) = box.value
            // The lines first, to the kernel (a kill keeps them), then the results with the
            // point they reach: a stored point never runs ahead of the files.
            if !work.output.isEmpty { try output.write(work.output) }
            if !work.rejects.isEmpty { try rejects.write(work.rejects) }
            if written != nil {
                try output.flush()
                try rejects.flush()
            }
            try store.write(work.results, writtenThrough: try written.map { try Self.inFiles($0, output: output, rejects: rejects) })
            switch durability {
            case .stored:
                break
            case .synced:
                try output.sync()
                try rejects.sync()
            case .committed(let point, let complete):
                // The rejects first: a table output commits its rows and the point together,
                // ahead of the checkpoint, and a run that finds it ahead takes its point. Each
                // file's length at the point is taken once it is synced (a gzip file's sync ends
                // the member the point is in).
                var stored = point
                try rejects.sync()
                stored.rejectsOffset = try rejects.fileOffset(of: point.rejectsOffset)
                try output.sync(committing: stored, complete: complete)
                stored.outputOffset = try output.fileOffset(of: point.outputOffset)
                try store.commit(stored, complete: complete)
                output.committed(through: point.outputOffset)
                rejects.committed(through: point.rejectsOffset)
            }
        }
        return done.assumeIsolated().always { [self] _ in
            outstanding -= 1
            resultsInWriter -= work.results.count
        }.nonisolated()
    }

    /// A commit into a sink that commits aside (a table): on the writer, the batch's lines and
    /// results and the rejects synced, and the sink's rows through the point taken; on the sink's
    /// commit worker, its transaction; then on the writer again, the checkpoint's commit. The
    /// writer stores the results of later batches meanwhile (past the point: nothing the commit
    /// touches), so the engine does not wait on the database. Commits stay in order: each
    /// worker runs its work in the order given.
    private func submitCommittingAside(
        _ work: Batch, point: CommitPoint, complete: Bool, worker: any BlockingWorker, box: UnsafeTransfer<(any CheckpointSink, any OutputSink, any OutputSink)>
    ) -> EventLoopFuture<Void> {
        let loop = self.loop
        let writer = self.writer
        let taken = UnsafeTransfer(Box<(CommitPoint, @Sendable () throws -> Void)>())
        let stored = writer.run(on: loop) {
            let (store, output, rejects) = box.value
            if !work.output.isEmpty { try output.write(work.output) }
            if !work.rejects.isEmpty { try rejects.write(work.rejects) }
            try store.write(work.results, writtenThrough: nil)
            var stored = point
            try rejects.sync()
            stored.rejectsOffset = try rejects.fileOffset(of: point.rejectsOffset)
            let commit = try output.commitWork(stored, complete: complete)
            stored.outputOffset = try output.fileOffset(of: point.outputOffset)
            taken.value.value = (stored, commit)
        }.assumeIsolated().always { [self] _ in
            outstanding -= 1
            resultsInWriter -= work.results.count
            commitsAside += 1
        }.nonisolated()
        let done = stored.flatMap { () -> EventLoopFuture<Void> in
            guard let (_, commit) = taken.value.value else { return loop.makeSucceededVoidFuture() }
            return worker.run(on: loop, commit)
        }.flatMap { () -> EventLoopFuture<Void> in
            writer.run(on: loop) {
                let (store, output, rejects) = box.value
                guard let (stored, _) = taken.value.value else { return }
                try store.commit(stored, complete: complete)
                output.committed(through: point.outputOffset)
                rejects.committed(through: point.rejectsOffset)
            }
        }
        return done.assumeIsolated().always { [self] _ in
            commitsAside -= 1
        }.nonisolated()
    }

    /// What the writer's first step hands to the later ones (each runs after the one before).
    private final class Box<Value> {
        var value: Value?
    }

    /// `point` as the checkpoint stores it: the files' own lengths there (a compressed file's
    /// differ from the lines' bytes the engine counts).
    private static func inFiles(_ point: CommitPoint, output: any OutputSink, rejects: any OutputSink) throws -> CommitPoint {
        var stored = point
        stored.outputOffset = try output.fileOffset(of: point.outputOffset)
        stored.rejectsOffset = try rejects.fileOffset(of: point.rejectsOffset)
        return stored
    }

    /// Stored results of earlier runs (a resume), read on the loop beside the writer.
    func results(in range: ClosedRange<Int>) throws -> [Int: RecordResult] {
        try stored.results(in: range)
    }

    /// The tokens a deduplicating job's checkpoint kept for `digest` (committed by the writer).
    func remembered(_ digest: RecordDigest) throws -> ResultTexts? {
        try stored.remembered(digest)
    }

    /// The digest of every answer the checkpoint kept (earlier runs').
    func forEachRemembered(_ body: (RecordDigest) -> Void) throws {
        try stored.forEachRemembered(body)
    }

    /// Stops the writer thread once every batch handed to it is carried out.
    func shutdown() async {
        await writer.shutdown()
        await output.commitWorker?.shutdown()
    }
}

/// Hands a value that is not `Sendable` to the writer thread, which is its only user from then on.
struct UnsafeTransfer<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

@available(*, unavailable)
extension CheckpointStage: Sendable {}
