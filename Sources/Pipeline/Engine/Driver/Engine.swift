import Checkpoint
import Logging
import NIOCore
import ShieldConex

/// The driver of a job: runs the engine's state machines (``ReorderBuffer``,
/// ``DispatchPlanner``, ``AnswerClassifier``, ``ConnectionPoolStateMachine``) on one event loop
/// and carries out what they decide. Answers are handled where they arrive, on the loop that
/// their connections share; timers are that loop's scheduled tasks; the disk is the
/// ``CheckpointStage``'s, on a thread of its own.
///
/// Confined to `loop`: every method but ``run(configuration:store:jobId:logger:interruptions:)``
/// is called on it (hence `@unchecked Sendable`: closures that the loop runs capture it).
final class Engine: @unchecked Sendable {
    let configuration: BatchJob.Configuration
    let action: JobAction
    let logger: Logger
    let loop: any EventLoop
    let jobId: String
    /// `jobId:`, which every request's reference starts with (then the seq, and `.group`).
    let referencePrefix: [UInt8]
    /// What every request of the job has in common, written once (a retokenize job's detokenize).
    let shape: RequestShape
    /// A retokenize job's second request: the tokenize under the new template.
    let tokenizeShape: RequestShape?
    let digestKey: DigestKey
    let mapper: FieldMapper
    let renderer: OutputRenderer
    let identifier: RecordIdentifier?
    let bfidReader: RecordIdentifier?
    let rejectsRenderer = RejectsRenderer()
    let classifier: AnswerClassifier
    /// A retokenize job's classifier of its tokenize answers (``classifier`` takes its detokenize's).
    let tokenizeClassifier: AnswerClassifier?
    let connector: any ServiceConnector
    let source: any RecordSource
    let stage: CheckpointStage
    /// The records from when they are read until their lines are written, in input order (the
    /// reorder buffer; "the window" is the requests in flight plus the results not yet durable).
    var slots: ReorderBuffer<EngineSlot>
    var planner: DispatchPlanner
    /// The sessions, each with its connection and receiver while it is up (``SessionHandle``).
    var pool: ConnectionPoolStateMachine<SessionHandle>
    /// Chooses the window (requests in flight plus results not yet durable) from what the run
    /// observes; the planner enforces it.
    var controller: ConcurrencyController
    var random = SystemRandomNumberGenerator()
    let promise: EventLoopPromise<JobSummary>

    /// A deduplicating job's (`--dedup`): the answers its records' digests got, and the records
    /// waiting for a request in flight with the same values. `nil`: every record is sent.
    var repeats: RepeatIndex?
    /// The digests of answers earlier runs kept are in ``repeats``' filter.
    var keptDigestsLoaded = false
    /// Repeats read and not yet written: they wait behind the records before them in the window
    /// without a request, so the reader stops at a window's worth of them (memory stays bounded).
    var repeatsUnwritten = 0
    /// Results of earlier runs for records not yet read, loaded a chunk of seqs at a time.
    var reused: [Int: RecordResult] = [:]
    var reusedThrough: Int
    /// Whether the engine may read and send, is stopping, must end early, and how it ends.
    var lifecycle = EngineLifecycle()
    /// When the commit point moves (and where it stays once a record is left failing transiently).
    var commits: CommitSchedule
    /// The source has no record ready; the engine pumps again when it may have.
    var waitingForSource = false
    /// The seq after the last record this run reads (its shard's end; no limit without one).
    let readLimit: Int
    var pumpScheduled = false
    var summary = JobSummary()
    var latency = LatencyRecorder()
    /// Stops the job when nothing succeeds for `--retry-for` while the service refuses.
    var watchdog: ProgressWatchdog
    /// Finds a connection that stopped answering while the others answer.
    var silence = SilentSessionDetector(sessions: 0)
    /// The time the current burst of answers was read (set by its first answer, cleared by the
    /// pump that follows the burst).
    var burstClock: NIODeadline?
    var line: [UInt8] = []
    var digestScratch: [UInt8] = []
    /// Values arrays of records already written, for the records read next (one allocation per
    /// record saved).
    var spareValues: [[FieldValue]] = []
    /// The seqs of one dispatch round by session, kept from round to round.
    var sendGroups: [[Int]] = []
    var timer: RepeatedTask?
    /// The input's size and the records finished before this run, for progress snapshots.
    let inputSize: Int64
    let finishedBefore: Int
    let started: NIODeadline

    /// What the engine is given: where records come from, how they map and render, where results
    /// and lines go, how connections open, and where this run starts. (``EngineWiring`` makes the
    /// real ones; the engine's tests give fakes.)
    struct Parts {
        var source: any RecordSource
        var mapper: FieldMapper
        var renderer: OutputRenderer
        var identifier: RecordIdentifier?
        var bfidReader: RecordIdentifier?
        var stage: CheckpointStage
        var connector: any ServiceConnector
        /// The first seq this run reads, and the seq through which stored results are not reused
        /// (the resume decision's).
        var firstSeq: Int
        var notReusedThrough: Int
        /// A fresh job: the output and rejects files get their header lines.
        var writesHeaders: Bool
        /// The input's size in bytes (for progress estimates; 0 when unknown).
        var inputSize: Int64
    }

    init(configuration: BatchJob.Configuration, jobId: String, logger: Logger, loop: any EventLoop, parts: Parts) {
        self.configuration = configuration
        self.action = configuration.action
        self.jobId = jobId
        referencePrefix = Array((jobId + ":").utf8)
        shape = Self.shape(of: configuration)
        tokenizeShape = configuration.action == .retokenize ? Self.shape(of: configuration, action: .tokenize) : nil
        self.digestKey = configuration.digestKey
        self.logger = logger
        self.loop = loop
        source = parts.source
        mapper = parts.mapper
        renderer = parts.renderer
        identifier = parts.identifier
        bfidReader = parts.bfidReader
        stage = parts.stage
        connector = parts.connector
        inputSize = parts.inputSize
        if configuration.dedup && configuration.action.tokenizes { repeats = RepeatIndex() }
        if parts.writesHeaders {
            stage.writeOutput(renderer.headerLine())
            stage.writeReject(RejectsRenderer.headerLine)
        }
        let start = parts.firstSeq
        readLimit = configuration.shardEndingByCount?.endSeq ?? Int.max
        // A shard's own records: its first record is not one that earlier runs finished.
        finishedBefore = start - (configuration.shard?.firstSeq ?? 0)
        reusedThrough = max(start - 1, parts.notReusedThrough)
        let connections = max(1, configuration.connections)
        let inFlight = max(1, configuration.inFlight)
        let fixed = configuration.fixedConcurrency
        let ceiling = fixed ? connections * inFlight : max(connections, configuration.connectionsMax) * max(inFlight, configuration.inFlightMax)
        let now = loop.now
        started = now
        commits = CommitSchedule(every: configuration.commitEvery, interval: configuration.commitInterval.timeAmount, now: now)
        watchdog = ProgressWatchdog(budget: configuration.retry.budget, now: now)
        // Never below the start: that is the operator's choice (the fixed window of old), and the
        // send rate's own congestion control answers throttling below it. A noisy path or a busy
        // machine (CPU contention reads as latency) cannot take a run below what it would have
        // done with a fixed window.
        let settings = ConcurrencyController.Settings(start: connections * inFlight, ceiling: ceiling, minimum: connections * inFlight, fixed: fixed)
        controller = ConcurrencyController(settings: settings, now: now)
        // Wide enough that a record waiting out a retry backoff, or the slowest answer of a
        // long-tailed service (its p99.9 can be ten times its median), does not stall the others
        // for long. (Its storage grows only as far as it is used.)
        slots = ReorderBuffer(start: start, limit: ceiling * 16)
        planner = DispatchPlanner(
            // What a kill can cost in requests sent again: the requests in flight and the results
            // not yet durable together stay within the window.
            action: action, window: controller.window, rate: configuration.rate, burst: configuration.burst,
            adaptiveRate: configuration.adaptiveRate, now: now
        )
        // A connection may carry up to --in-flight-max: the window, not the connection, limits.
        pool = ConnectionPoolStateMachine(
            count: connections, maxInFlight: fixed ? inFlight : max(inFlight, configuration.inFlightMax), policy: configuration.retry, now: now
        )
        classifier = AnswerClassifier(
            action: action == .retokenize ? .detokenize : action, omit: configuration.omit, retry: configuration.retry, masking: configuration.masking,
            key: configuration.key
        )
        tokenizeClassifier = action == .retokenize
            ? AnswerClassifier(action: .tokenize, omit: false, retry: configuration.retry, masking: configuration.masking, key: configuration.key) : nil
        promise = loop.makePromise()
        stage.digestOfUnwritten = { [unowned self] seq in digestOfUnwritten(seq) }
        stage.inputDigest = { [unowned self] offset in source.prefixDigest(through: offset) }
    }

    /// The job's outcome: its summary, or the error it ended with, once the last batch is carried
    /// out.
    var outcome: EventLoopFuture<JobSummary> { promise.futureResult }

    func start() {
        timer = loop.scheduleRepeatedTask(initialDelay: .milliseconds(250), delay: .milliseconds(250)) { [self] _ in handle(.tick) }
        for action in pool.start() { perform(action, error: nil) }
    }

    /// One step of the job: read and send what the limits allow, write what is finished in
    /// order, and end the job when there is nothing left to do.
    func pump() {
        burstClock = nil
        guard !lifecycle.isEnded else { return }
        do {
            // The answered records' lines first: a batch that dispatching hands to the checkpoint
            // then holds them, and their results go without their tokens.
            try drain()
            if lifecycle.mayDispatch {
                do {
                    try fill()
                } catch let error as CompressedInputError {
                    // The records before the damage are whole: they are finished first.
                    lifecycle.sourceFailed(JobError(.input, error.description))
                }
                dispatch()
            }
            // ... and those that reading finished at once (records that cannot be sent).
            try drain()
        } catch let error as JobError {
            lifecycle.failFatally(error)
        } catch {
            lifecycle.breakDown(error)
        }
        if lifecycle.isOver(windowEmpty: slots.isEmpty, inFlight: pool.inFlight) { finish() }
    }

    func tick() {
        configuration.progress?(progress())
        if lifecycle.mayDispatch, let message = watchdog.expired(now: loop.now) {
            lifecycle.failFatally(JobError(.transient, message))
        }
        abandonSilentConnections()
        planner.tick(now: loop.now)
        // Results wait at most a tick before they are durable.
        if stage.hasWork && stage.outstanding == 0 { watch(stage.submit()) }
        // The engine's state four times a second at --log-level trace (through the logger, masked like every line).
        if logger.logLevel <= .trace {
            let state = pool.sessions.map { "\($0.state)/\($0.inFlight)" }.joined(separator: " ")
            logger.trace(
                "engine state",
                metadata: [
                    "next.write": "\(slots.nextToWrite)", "slots": "\(slots.count)", "queued": "\(planner.queued)", "sessions": "\(state)",
                    "rate": "\(planner.limiter.map { "\($0.rate)" } ?? "unlimited")",
                ]
            )
        }
    }

    func interrupt() {
        guard lifecycle.stopRequested() else { return }
        pool.stop()
        logger.notice("stopping: no more records are read; waiting for the requests in flight", metadata: ["in-flight": "\(pool.inFlight)"])
        loop.scheduleTask(in: configuration.stopDeadline.timeAmount) { [self] in handle(.stopDeadlinePassed) }
    }
}
