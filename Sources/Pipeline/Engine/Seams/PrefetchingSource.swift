import Foundation
import NIOCore

/// A ``RecordReader`` that may block (a pipe, a socket, a slow disk) read on a thread of its
/// own, at most `depth` records ahead of the engine: the engine's loop never waits on it, and
/// memory stays bounded whatever the input's size. Each record is handed over as soon as it is
/// read; the loop is woken only when it waits for one.
public final class PrefetchingSource: RecordSource, @unchecked Sendable {
    private let condition = NSCondition()
    private let loop: any EventLoop
    private let depth: Int
    // Guarded by `condition`.
    private var buffer: [(record: InputRecord, after: RecordPosition)] = []
    private var head = 0
    private var ended = false
    private var failure: (any Error)?
    private var waiter: EventLoopPromise<Void>?
    private var stopped = false
    /// Read on the loop only.
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
        while true {
            condition.lock()
            while buffer.count - head >= depth && !stopped { condition.wait() }
            let stop = stopped
            condition.unlock()
            if stop { return }
            let next = Result { try reader.nextWithPosition() }
            condition.lock()
            var finished = true
            switch next {
            case .success(let read?):
                buffer.append(read)
                finished = false
            case .success(nil):
                ended = true
            case .failure(let error):
                failure = error
            }
            let wake = waiter
            waiter = nil
            condition.unlock()
            wake?.succeed(())
            if finished { return }
        }
    }

    public func read() throws -> SourceRead {
        condition.lock()
        defer { condition.unlock() }
        if head < buffer.count {
            let wasFull = buffer.count - head >= depth
            let read = buffer[head]
            head += 1
            if head >= 256 && head * 2 >= buffer.count {
                buffer.removeFirst(head)
                head = 0
            }
            if wasFull { condition.signal() }
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
