import NIOCore
import ShieldConex

extension Engine {
    /// Carries out what the pool decided; `error` is the failure that led to it, if any.
    func perform(_ action: ConnectionPoolStateMachine<SessionHandle>.Action, error: (any Error)?) {
        let reason = error.map { "\($0)" } ?? "no connection"
        switch action {
        case .none:
            break
        case .connect(let session, let delay):
            connect(session, after: delay)
        case .giveUpAuthentication:
            lifecycle.failFatally(JobError(.fatalAnswer, reason))
        case .giveUpBusy(let refusedFor):
            lifecycle.failFatally(
                JobError(.connection, "\(configuration.endpoint) refused every connection for \(AnswerClassifier.describe(refusedFor)): \(reason)")
            )
        case .giveUpUnreachable(let attempts):
            lifecycle.failFatally(JobError(.connection, "cannot reach \(configuration.endpoint) after \(attempts) attempts: \(reason)"))
        }
    }

    /// Opens a connection for `session` after `delay`, on the engine's loop (so that its answers
    /// arrive where the engine runs).
    func connect(_ session: Int, after delay: Duration) {
        loop.scheduleTask(in: delay.timeAmount) { [self] in
            connector.connect(on: loop).whenComplete { [self] result in
                switch result {
                case .success(let connection): handle(.connected(session: session, connection))
                case .failure(let error): handle(.connectFailed(session: session, error))
                }
            }
        }
    }

    func connected(_ session: Int, _ connection: any ServiceConnection) {
        guard !lifecycle.isEnded else {
            connection.startClosing()
            return
        }
        let generation = pool.connected(session, now: loop.now) { generation in
            SessionHandle(connection: connection, receiver: SessionReceiver(engine: self, session: session, generation: generation))
        }
        connection.closeFuture.whenComplete { [self] _ in handle(.closed(session: session, generation: generation)) }
        if lifecycle.isStopping { connection.startClosing() }
    }

    func connectFailed(_ session: Int, _ error: any Error) {
        guard !lifecycle.isEnded else { return }
        logger.warning("connection failed", metadata: ["session.id": "\(session)", "error": "\(error)"])
        let failure = ConnectionPoolStateMachine<SessionHandle>.ConnectFailure(error)
        perform(pool.connectFailed(session, failure, now: loop.now, random: &random), error: error)
    }

    func closed(_ session: Int, generation: Int) {
        guard pool.sessions[session].generation == generation else { return }
        silence.reset(session)
        guard !lifecycle.isEnded else { return }
        perform(pool.closed(session, generation: generation, random: &random), error: nil)
    }
}

/// An up session's connection, and the receiver of its answers.
struct SessionHandle {
    let connection: any ServiceConnection
    let receiver: SessionReceiver
}

/// Hands the answers of one connection to the engine, with the session and generation they
/// belong to (answers of a replaced connection do not count against its successor). Called on
/// the engine's loop, where the connection lives.
final class SessionReceiver: AnswerReceiver, @unchecked Sendable {
    let engine: Engine
    let session: Int
    let generation: Int

    init(engine: Engine, session: Int, generation: Int) {
        self.engine = engine
        self.session = session
        self.generation = generation
    }

    func received(_ result: Result<Response, any Error>, tag: Int) {
        engine.handle(.answered(seq: tag, session: session, generation: generation, result))
    }
}

extension Engine {
    /// Abandons the connections that stopped answering while the others answer
    /// (``SilentSessionDetector``): their requests fail at once and go again elsewhere, instead
    /// of each waiting out its timeout.
    func abandonSilentConnections() {
        let now = loop.now
        for (session, silence) in silence.silent(now: now, p99: latency.p99Nanoseconds, answers: latency.count) {
            guard let connection = pool.handle(session)?.connection else { continue }
            self.silence.reset(session)
            let seconds = Double(silence.nanoseconds) / 1e9
            let reason = "no answer for \(String(format: "%.1f", seconds)) s while the other connections answered: the connection is treated as dead"
            logger.warning("a connection stopped answering; abandoning it", metadata: ["session.id": "\(session)", "silence.s": "\(seconds)"])
            connection.abandon(reason)
        }
    }
}
