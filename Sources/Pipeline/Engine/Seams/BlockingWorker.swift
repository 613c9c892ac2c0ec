import Dispatch
import NIOCore
import NIOPosix

/// Runs the checkpoint stage's blocking work (writes, `fsync`, SQLite) off the event loop, one
/// piece after another, in the order given. The real one is a thread of its own; the engine's
/// tests run the work when they choose, on the loop.
public protocol BlockingWorker: AnyObject, Sendable {
    /// Runs `work` after the work given before it; the future completes on `loop`.
    func run(on loop: any EventLoop, _ work: @escaping @Sendable () throws -> Void) -> EventLoopFuture<Void>
    /// Returns once the work already given is done; nothing is run after.
    func shutdown() async
}

/// A thread of its own (a one-thread ``NIOPosix/NIOThreadPool``: in order, as given).
public final class WriterThread: BlockingWorker {
    private let pool = NIOThreadPool(numberOfThreads: 1)

    public init() {
        pool.start()
    }

    public func run(on loop: any EventLoop, _ work: @escaping @Sendable () throws -> Void) -> EventLoopFuture<Void> {
        pool.runIfActive(eventLoop: loop, work)
    }

    public func shutdown() async {
        try? await pool.shutdownGracefully()
    }

    /// A thread let go of without ``shutdown()`` (its owner gone on an error) is stopped, not leaked.
    deinit {
        pool.shutdownGracefully(queue: .global()) { _ in }
    }
}
