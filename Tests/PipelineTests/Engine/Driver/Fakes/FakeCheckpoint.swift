import Checkpoint
import NIOCore
@testable import Pipeline

/// The checkpoint and the output and rejects files in memory, with what a kill would keep: the
/// stored results and points are durable as soon as they are written (as with SQLite's WAL and a
/// killed process); the files keep what was flushed to the kernel.
final class FakeCheckpoint: CheckpointSink, StoredResults {
    var results: [Int: RecordResult] = [:]
    /// A deduplicating job's kept answers by record digest, kept as the real store keeps them
    /// (a done answer a request got, the first for its digest).
    var remembered: [RecordDigest: ResultTexts] = [:]
    var writtenPoint: CommitPoint?
    var commitPoint: CommitPoint?
    var complete = false
    /// The order of what happened, for the tests that check it ("stored 3 sent", ...).
    var events: [String] = []
    /// The files' bytes wanted between points (``OutputSink/pointSpacing``); the written points
    /// stored closer than that to the point before (a commit's, or one written), and how many
    /// were stored.
    var pointSpacing: Int64 = 0
    private var bytesAtPoint: Int64?
    private(set) var pointsTooClose: [Int] = []
    private(set) var pointsStored = 0

    private func pointMade(_ point: CommitPoint, commit: Bool) {
        let bytes = point.outputOffset + point.rejectsOffset
        if commit {
            // A commit stores its point as written first: that one was a commit's.
            pointsTooClose.removeAll { $0 == point.seq }
        } else {
            if let last = bytesAtPoint, bytes - last < pointSpacing { pointsTooClose.append(point.seq) }
            pointsStored += 1
        }
        bytesAtPoint = bytes
    }

    func write(_ results: [RecordResult], writtenThrough: CommitPoint?) throws {
        for result in results {
            var kept = result
            // As the real store does: a result up to the written point loses its tokens.
            if let writtenThrough, result.seq <= writtenThrough.seq { kept.tokens = [] }
            self.results[result.seq] = kept
            if result.status == .done, result.attempts > 0, result.texts.hasBfid, result.texts.valueCount > 0, let digest = result.recordDigest,
                remembered[digest] == nil
            {
                remembered[digest] = result.texts
            }
            events.append("stored \(result.seq) \(result.status)")
        }
        if let writtenThrough, writtenThrough.seq > commitPoint?.seq ?? -1 { writtenPoint = writtenThrough }
        if let writtenThrough { pointMade(writtenThrough, commit: false) }
    }

    func commit(_ point: CommitPoint, complete: Bool) throws {
        commitPoint = point
        pointMade(point, commit: true)
        if let written = writtenPoint, written.seq <= point.seq { writtenPoint = nil }
        self.complete = self.complete || complete
        events.append("committed \(point.seq)")
    }

    func results(in range: ClosedRange<Int>) throws -> [Int: RecordResult] {
        results.filter { range.contains($0.key) }
    }

    func remembered(_ digest: RecordDigest) throws -> ResultTexts? { remembered[digest] }

    func forEachRemembered(_ body: (RecordDigest) -> Void) throws {
        for digest in remembered.keys { body(digest) }
    }
}

/// An output or rejects file in memory.
final class FakeOutput: OutputSink {
    /// Bytes handed over, to the kernel, and synced.
    var written: [UInt8] = []
    var flushed = 0
    var synced = 0

    init(_ start: [UInt8] = []) {
        written = start
        flushed = start.count
        synced = start.count
        committed = start.count
    }

    func write(_ bytes: [UInt8]) throws { written += bytes }
    func flush() throws { flushed = written.count }
    func sync() throws {
        flushed = written.count
        synced = written.count
    }
    var offset: Int64 { Int64(written.count) }
    var pointSpacing = 0
    /// `false`: a table's rows: a kill (or a run that ends) keeps only what was committed.
    var keepsFlushedLines = true
    var committed = 0
    func sync(committing point: CommitPoint, complete: Bool) throws {
        try sync()
        committed = written.count
    }
    /// A table's: its commits run aside (on their own worker), after the lines are taken.
    var commitWorker: (any BlockingWorker)?
    func commitWork(_ point: CommitPoint, complete: Bool) throws -> @Sendable () throws -> Void {
        guard commitWorker != nil else {
            try sync(committing: point, complete: complete)
            return {}
        }
        try sync()
        let through = Int(point.outputOffset)
        let output = UnsafeTransfer(self)
        return { output.value.committed = through }
    }
    var text: String { String(decoding: written, as: UTF8.self) }
    /// What a killed process leaves: the bytes handed to the kernel (a table's: its commits').
    var afterKill: [UInt8] { Array(written.prefix(keepsFlushedLines ? flushed : committed)) }
}

/// Runs the checkpoint stage's work when the test says (``runAll()``), on the loop: a slow disk,
/// or one that keeps up (`automatic`).
final class ManualWorker: BlockingWorker, @unchecked Sendable {
    private var queue: [(work: @Sendable () throws -> Void, promise: EventLoopPromise<Void>)] = []
    /// Run each piece of work as soon as it is given.
    var automatic = true

    func run(on loop: any EventLoop, _ work: @escaping @Sendable () throws -> Void) -> EventLoopFuture<Void> {
        let promise = loop.makePromise(of: Void.self)
        queue.append((work, promise))
        if automatic { loop.execute { self.runAll() } }
        return promise.futureResult
    }

    /// Carries out every piece of work given so far, in order.
    func runAll() {
        while !queue.isEmpty {
            let (work, promise) = queue.removeFirst()
            do {
                try work()
                promise.succeed(())
            } catch {
                promise.fail(error)
            }
        }
    }

    var waiting: Int { queue.count }

    func shutdown() async {}
}
