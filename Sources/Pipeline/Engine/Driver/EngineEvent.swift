import NIOCore
import ShieldConex

/// Everything that happens to the engine: every callback of its loop (timers, answers,
/// connections, the disk, the source, signals) arrives as one of these, through
/// ``Engine/handle(_:)``.
enum EngineEvent {
    case started
    /// A pump scheduled after a burst of events.
    case pumpDue
    /// The engine's timer (four times a second).
    case tick
    case answered(seq: Int, session: Int, generation: Int, Result<Response, any Error>)
    /// A record's retry backoff is over.
    case retryDue(seq: Int)
    /// The send rate allows more again.
    case plannerWoke
    /// A batch handed to the checkpoint stage was carried out (or the disk failed).
    case batchCarriedOut(Result<Void, any Error>)
    /// Reads recorded as sent are durable: they may leave.
    case readsStored(sends: [DispatchPlanner.Send], generations: [Int], Result<Void, any Error>)
    /// The source may have records ready.
    case sourceReady
    /// SIGINT or SIGTERM.
    case stopRequested
    case stopDeadlinePassed
    case connected(session: Int, any ServiceConnection)
    case connectFailed(session: Int, any Error)
    case closed(session: Int, generation: Int)

    /// After it the engine reads, sends and writes what the limits allow: at once, or once after
    /// the events already queued on the loop (a burst of answers gets one round for all).
    var pumpsAtOnce: Bool {
        switch self {
        case .answered, .batchCarriedOut, .tick, .closed, .sourceReady, .readsStored: false
        case .started, .pumpDue, .retryDue, .plannerWoke, .stopRequested, .stopDeadlinePassed, .connected, .connectFailed: true
        }
    }
}

extension Engine {
    /// The engine's one entry point: takes an event, lets the state machines decide, carries out
    /// what they say, then pumps.
    func handle(_ event: EngineEvent) {
        switch event {
        case .started:
            start()
        case .pumpDue:
            pumpScheduled = false
        case .tick:
            tick()
        case .answered(let seq, let session, let generation, let result):
            answered(seq: seq, session: session, generation: generation, result)
        case .retryDue(let seq):
            retryDue(seq)
        case .plannerWoke:
            planner.woke()
        case .batchCarriedOut(let result):
            if case .failure(let error) = result { lifecycle.breakDown(error) }
        case .readsStored(let sends, let generations, let result):
            readsStored(sends, generations: generations, result)
        case .sourceReady:
            waitingForSource = false
        case .stopRequested:
            interrupt()
        case .stopDeadlinePassed:
            lifecycle.stopDeadlinePassed()
        case .connected(let session, let connection):
            connected(session, connection)
        case .connectFailed(let session, let error):
            connectFailed(session, error)
        case .closed(let session, let generation):
            closed(session, generation: generation)
        }
        if event.pumpsAtOnce { pump() } else { schedulePump() }
    }

    /// Pumps once after the events that are already queued on the loop (the rest of a read
    /// burst's answers): one round of dispatching for them all.
    func schedulePump() {
        guard !pumpScheduled else { return }
        pumpScheduled = true
        loop.execute { [self] in handle(.pumpDue) }
    }

    /// Watches a batch handed to the checkpoint stage: a disk that fails ends the job.
    func watch(_ future: EventLoopFuture<Void>) {
        future.whenComplete { [self] result in handle(.batchCarriedOut(result)) }
    }
}
