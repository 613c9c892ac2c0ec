import Foundation
import NIOCore

/// A ``RecordReader`` that may block (a pipe, a socket, a slow disk, a database) read on a thread
/// of its own, at most `depth` records ahead of the engine (twice that, with the run the loop has
/// taken, and a page more for a paged reader): the engine's loop never waits on it,
/// and memory stays bounded whatever the input's size. Records cross between the two threads in
/// runs, not one by one: the loop takes every record read so far under one lock and then reads
/// them without it, and a reader that reads a page at a time (``PagedRecordReader``) hands over
/// the whole page at once (a lock taken per record by both threads had them contend on it for
/// every record: a futex call and more per record). The loop is woken only when it waits.
public final class PrefetchingSource: RecordSource, @unchecked Sendable {
    private let condition = NSCondition()
    private let loop: any EventLoop
    private let depth: Int
    // Guarded by `condition`.
    private var buffer: [(record: InputRecord, after: RecordPosition)] = []
    private var ended = false
    private var failure: (any Error)?
    private var waiter: EventLoopPromise<Void>?
    private var stopped = false
    // Read on the loop only.
    private var taken: [(record: InputRecord, after: RecordPosition)] = []
    private var next = 0
    public private(set) var position: RecordPosition

    /// Starts reading `reader` at once; the futures of ``read()`` complete on `loop`.
    public init(_ reader: any RecordReader, depth: Int = 1_024, loop: any EventLoop) {
        self.loop = loop
        self.depth = max(1, depth)
        position = reader.nextPosition
        let handed = UnsafeTransfer(reader)
        let thread = Thread { [self] in produce(handed.value) }
        thread.name = "batch-tokenize-reader"
        thread.start()
    }

    private func produce(_ reader: any RecordReader) {
        var reader = reader
        var paged = reader as? any PagedRecordReader
        var page: [(record: InputRecord, after: RecordPosition)] = []
        while true {
            condition.lock()
            while buffer.count >= depth && !stopped { condition.wait() }
            let stop = stopped
            condition.unlock()
            if stop { return }
            page.removeAll(keepingCapacity: true)
            let read = Result { () -> Bool in
                if paged != nil { return try paged!.nextPage(into: &page) }
                guard let one = try reader.nextWithPosition() else { return false }
                page.append(one)
                return true
            }
            condition.lock()
            var finished = false
            switch read {
            case .success(let more):
                buffer.append(contentsOf: page)
                if !more { ended = true; finished = true }
            case .failure(let error):
                buffer.append(contentsOf: page)
                failure = error
                finished = true
            }
            let wake = waiter
            waiter = nil
            condition.unlock()
            wake?.succeed(())
            if finished { return }
        }
    }

    public func read() throws -> SourceRead {
        if next < taken.count {
            let read = taken[next]
            next += 1
            position = read.after
            return .record(read.record, after: read.after)
        }
        condition.lock()
        defer { condition.unlock() }
        let wasFull = buffer.count >= depth
        taken.removeAll(keepingCapacity: true)
        next = 0
        swap(&taken, &buffer)
        if wasFull { condition.signal() }
        if !taken.isEmpty {
            let read = taken[0]
            next = 1
            position = read.after
            return .record(read.record, after: read.after)
        }
        if let failure { throw failure }
        if ended { return .end }
        let promise = waiter ?? loop.makePromise()
        waiter = promise
        return .wait(promise.futureResult)
    }

    public func recycle(_ record: InputRecord) {}

    /// Stops reading ahead (the thread ends once its read in progress returns, and lets go of the
    /// source).
    public func close() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }
}
