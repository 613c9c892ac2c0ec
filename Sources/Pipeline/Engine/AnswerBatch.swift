import NIOCore
import ShieldConex

/// Collects the answers that a connection's event loop completes in one pass (one read burst)
/// and hands them to the engine as one event: one wake-up of the engine's task per burst
/// instead of one per answer. Touched only on its event loop.
final class AnswerBatch: @unchecked Sendable {
    typealias Answer = (seq: Int, result: Result<Response, any Error>)

    private let eventLoop: any EventLoop
    private let deliver: @Sendable ([Answer]) -> Void
    private var answers: [Answer] = []
    private var scheduled = false

    init(eventLoop: any EventLoop, deliver: @escaping @Sendable ([Answer]) -> Void) {
        self.eventLoop = eventLoop
        self.deliver = deliver
    }

    /// Called by the answer's future callback, which NIO runs on the future's event loop.
    func add(seq: Int, result: Result<Response, any Error>) {
        eventLoop.preconditionInEventLoop()
        answers.append((seq, result))
        guard !scheduled else { return }
        scheduled = true
        // Runs after the tasks already queued: the rest of this read burst lands in the same batch.
        eventLoop.execute { self.flush() }
    }

    private func flush() {
        scheduled = false
        let batch = answers
        answers = []
        answers.reserveCapacity(batch.count)
        deliver(batch)
    }
}
