/// The engine's lifecycle as one value: whether it may read and send, whether it is stopping,
/// why it must end early, when it is over and how it ends. Pure: the driver tells it what
/// happened and carries out what it says.
struct EngineLifecycle {
    enum Phase: Equatable {
        /// Reading and sending.
        case running
        /// Interrupted (SIGINT/SIGTERM): nothing more is read or sent; the requests in flight get
        /// until the stop deadline to answer.
        case stopping(deadlinePassed: Bool)
        /// Over: the ending is being carried out; events that arrive now change nothing.
        case ended
    }

    /// How the job ends, decided once when it is over.
    enum Ending {
        /// The disk or the source failed: the job ends with that error, nothing more is committed.
        case broken(any Error)
        /// The service said something the job cannot go on after (refused credentials, unknown
        /// template, every connection refused, no progress within the retry budget): what is
        /// finished is committed, then the job ends with the error.
        case fatal(JobError)
        /// Stopped before every record was finished: records waiting out a retry backoff become
        /// transient rejects, what is finished is committed.
        case interrupted
        /// Every record is finished: the job is complete, unless records were left failing
        /// transiently (the commit point is frozen before the first): then it ends with that.
        case finished(transientLeft: Bool)
    }

    private(set) var phase = Phase.running
    /// Every record is read (the input ended, or the shard's last record was read).
    private(set) var sourceEnded = false
    private(set) var fatal: JobError?
    private(set) var broken: (any Error)?
    /// The source failed after the records read so far: they are finished, then the job ends
    /// with this.
    private(set) var sourceFailure: JobError?

    var isStopping: Bool {
        if case .stopping = phase { return true }
        return false
    }

    var isEnded: Bool { phase == .ended }

    /// Records may be read and requests sent.
    var mayDispatch: Bool { phase == .running && fatal == nil && broken == nil }

    mutating func sourceDidEnd() {
        sourceEnded = true
    }

    /// The source cannot be read on (a damaged compressed stream): nothing more is read, the
    /// records read so far are finished and committed, and the job ends with `error`.
    mutating func sourceFailed(_ error: JobError) {
        sourceEnded = true
        if sourceFailure == nil { sourceFailure = error }
    }

    /// A stop was asked for. `true`: the engine starts stopping now (stop the pool, start the
    /// deadline); `false`: it is already stopping or over.
    mutating func stopRequested() -> Bool {
        guard phase == .running else { return false }
        phase = .stopping(deadlinePassed: false)
        return true
    }

    mutating func stopDeadlinePassed() {
        if case .stopping = phase { phase = .stopping(deadlinePassed: true) }
    }

    /// The service said something the job cannot go on after; the first reason is kept.
    mutating func failFatally(_ error: JobError) {
        if fatal == nil { fatal = error }
    }

    /// The disk or the source failed; the first failure is kept.
    mutating func breakDown(_ error: any Error) {
        if broken == nil { broken = error }
    }

    /// Whether the job is over, after a round of reading, sending and writing.
    func isOver(windowEmpty: Bool, inFlight: Int) -> Bool {
        if phase == .ended { return false }
        if fatal != nil || broken != nil || (sourceEnded && windowEmpty) { return true }
        if case .stopping(let deadlinePassed) = phase { return inFlight == 0 || deadlinePassed }
        return false
    }

    /// Ends the job: how (once; `nil` when it is already over).
    mutating func end(windowEmpty: Bool, commitFrozen: Bool) -> Ending? {
        guard phase != .ended else { return nil }
        let wasStopping = isStopping
        phase = .ended
        if let broken { return .broken(broken) }
        if let fatal { return .fatal(fatal) }
        if let sourceFailure { return .fatal(sourceFailure) }
        if wasStopping && !(sourceEnded && windowEmpty) { return .interrupted }
        return .finished(transientLeft: commitFrozen)
    }
}
