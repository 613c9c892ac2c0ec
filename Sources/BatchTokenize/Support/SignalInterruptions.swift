import Dispatch
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGINT and SIGTERM for a job: the first one asks the job to stop gracefully (it commits what
/// is finished and exits with ``ExitCodes/interrupted``); a second one exits at once — the
/// checkpoint still makes the job resumable.
final class SignalInterruptions {
    let stream: AsyncStream<Void>
    private let sources: [any DispatchSourceSignal]

    /// The messages go through `logger`, so that they take the job's log format.
    init(resumeHint: String, logger: Logger) {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
        self.stream = stream
        let queue = DispatchQueue(label: "batch-tokenize.signals")
        let received = SignalCount()
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                if received.increment() == 1 {
                    logger.warning("stopping: finishing the requests in flight and committing (a second signal exits at once; the job stays resumable)")
                    continuation.yield()
                } else {
                    logger.error("stopped at once. To resume: \(resumeHint)")
                    _exit(ExitCodes.interrupted.rawValue)
                }
            }
            source.resume()
            return source
        }
    }

    deinit {
        for source in sources { source.cancel() }
    }
}

/// Only touched on the signal queue.
private final class SignalCount: @unchecked Sendable {
    private var count = 0
    func increment() -> Int {
        count += 1
        return count
    }
}
