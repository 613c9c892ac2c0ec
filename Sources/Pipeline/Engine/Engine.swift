import Checkpoint
import Foundation
import Logging
import NIOCore
import NIOPosix
import ShieldConex

/// The driver of a job: runs the engine's state machines (``ReorderWindow``,
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
    /// What every request of the job has in common, written once.
    let shape: RequestShape
    let digestKey: DigestKey
    let mapper: FieldMapper
    let renderer: OutputRenderer
    let identifier: RecordIdentifier?
    let bfidReader: RecordIdentifier?
    let rejectsRenderer = RejectsRenderer()
    let classifier: AnswerClassifier
    let tlsContext: NIOSSLContextBox
    var reader: any RecordReader
    let stage: CheckpointStage
    var window: ReorderWindow<EngineSlot>
    var planner: DispatchPlanner
    var pool: ConnectionPoolStateMachine
    /// Chooses the window (requests in flight plus results not yet durable) from what the run
    /// observes; the planner enforces it.
    var controller: ConcurrencyController
    var connections: [ShieldConexConnection?]
    /// Each connection's receiver of answers (it knows its session and generation).
    var receivers: [SessionReceiver?]
    var random = SystemRandomNumberGenerator()
    let promise: EventLoopPromise<JobSummary>

    /// Results of earlier runs for records not yet read, loaded a chunk of seqs at a time.
    var reused: [Int: RecordResult] = [:]
    var reusedThrough: Int
    /// After the first transient failure is written, the commit point stays before it, so that
    /// the next run reads that record again (and reuses every stored result after it).
    var commitFrozen = false
    var readerDone = false
    /// The seq after the last record this run reads (its shard's end; no limit without one).
    let readLimit: Int
    var stopping = false
    var stopExpired = false
    var finishing = false
    var pumpScheduled = false
    var summary = JobSummary()
    var latency = LatencyRecorder()
    var fatal: JobError?
    /// A failure of the disk or the reader: the job ends with it, as it came.
    var failure: (any Error)?
    var lastCommit = NIODeadline.now()
    /// Stops the job when nothing succeeds for `--retry-for` while the service refuses.
    var watchdog: ProgressWatchdog
    /// Finds a connection that stopped answering while the others answer.
    var silence = SilentSessionDetector(sessions: 0)
    var uncommitted = 0
    var lastWritten: (seq: Int, after: RecordPosition)?
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
    let started = NIODeadline.now()

    init(configuration: BatchJob.Configuration, store: CheckpointStore, jobId: String, logger: Logger, loop: any EventLoop) throws {
        self.configuration = configuration
        self.action = configuration.action
        self.jobId = jobId
        referencePrefix = Array((jobId + ":").utf8)
        shape = Self.shape(of: configuration)
        self.digestKey = configuration.digestKey
        self.logger = logger
        self.loop = loop
        let resume = ResumeDecision.decide(
            committed: store.commitPoint, written: store.writtenPoint, output: .of(path: configuration.outputPath),
            rejects: .of(path: configuration.rejectsPath), shardStart: configuration.shard?.start
        )
        let point = resume.point
        if resume.filesLostLines {
            logger.warning(
                "the output or rejects file ends before the last written point the checkpoint stored (the machine lost its power, or a file was cut): the records after the commit point are sent again",
                metadata: ["commit.seq": "\(store.commitPoint?.seq ?? -1)", "written.seq": "\(store.writtenPoint?.seq ?? -1)"]
            )
        }
        let opened: (reader: any RecordReader, header: CSVHeader?)
        do {
            opened = try InputSource.open(
                path: configuration.inputPath, format: configuration.format, delimiter: configuration.delimiter, from: resume.readFrom,
                hasHeader: configuration.hasHeader
            )
            var mapper = try FieldMapper(
                instructions: configuration.instructions, format: configuration.format, header: opened.header,
                reading: configuration.action == .tokenize ? .values : .tokens(spansColumn: FieldMapper.spansColumn(bfidColumn: configuration.bfidColumn))
            )
            // A read fills columns that an --omit tokenize job left empty.
            mapper.acceptsEmpty = configuration.action == .read
            self.mapper = mapper
            renderer = try OutputRenderer(
                format: configuration.format, header: opened.header, delimiter: configuration.delimiter, bfidColumn: configuration.bfidColumn,
                writesBfid: configuration.action.producesBfid, spanInstructions: mapper.spanInstructions
            )
            identifier = try configuration.idColumn.map { name throws(MappingError) in
                let identifier = try RecordIdentifier(idColumn: name, format: configuration.format, header: opened.header)
                try identifier.checkNotMapped(by: mapper, name: name)
                return identifier
            }
            try RecordIdentifier.checkBfidColumn(
                configuration.bfidColumn, producesBfid: configuration.action.producesBfid, format: configuration.format, header: opened.header, mapper: mapper
            )
            bfidReader = configuration.action.producesBfid
                ? nil : try RecordIdentifier(idColumn: configuration.bfidColumn, format: configuration.format, header: opened.header)
        } catch let error as MappingError {
            throw JobError(.configuration, error.description)
        }
        reader = opened.reader
        // Only a detokenize output holds plaintext; every output is created 0600 all the same.
        let output: OutputFile
        let rejects: OutputFile
        do {
            output = try OutputFile(path: configuration.outputPath, resumeAt: point?.outputOffset, expected: try store.fileIdentity("output"))
            rejects = try OutputFile(path: configuration.rejectsPath, resumeAt: point?.rejectsOffset, expected: try store.fileIdentity("rejects"))
        } catch let error as OutputFile.IOError {
            throw JobError(.configuration, error.description)
        }
        if point == nil {
            // With where they are, for `merge` (a shard's files are wherever its options put them).
            try store.setFileIdentity("output", output.identity, path: URL(fileURLWithPath: configuration.outputPath).standardizedFileURL.path)
            try store.setFileIdentity("rejects", rejects.identity, path: URL(fileURLWithPath: configuration.rejectsPath).standardizedFileURL.path)
        }
        if let written = resume.adoptedWritten {
            // The lines up to the written point are the committed part from now on, durably.
            do {
                try output.sync()
                try rejects.sync()
            } catch let error as OutputFile.IOError {
                throw JobError(.configuration, error.description)
            }
            try store.commit(written)
        }
        stage = try CheckpointStage(store: store, output: output, rejects: rejects, loop: loop)
        if point == nil {
            stage.writeOutput(renderer.headerLine())
            stage.writeReject(RejectsRenderer.headerLine)
        }
        let start = resume.firstSeq
        readLimit = configuration.shard?.endSeq ?? Int.max
        // A shard's own records: its first record is not one that earlier runs finished.
        finishedBefore = start - (configuration.shard?.firstSeq ?? 0)
        inputSize = (try? FileManager.default.attributesOfItem(atPath: configuration.inputPath)[.size] as? NSNumber)?.int64Value ?? 0
        reusedThrough = max(start - 1, resume.notReusedThrough)
        let connections = max(1, configuration.connections)
        let inFlight = max(1, configuration.inFlight)
        let fixed = configuration.fixedConcurrency
        let ceiling = fixed ? connections * inFlight : max(connections, configuration.connectionsMax) * max(inFlight, configuration.inFlightMax)
        let now = NIODeadline.now()
        watchdog = ProgressWatchdog(budget: configuration.retry.budget, now: now)
        controller = ConcurrencyController(
            // Never below the start: that is the operator's choice (the fixed window of old),
            // and the send rate's own congestion control answers throttling below it. A noisy
            // path or a busy machine (CPU contention reads as latency) cannot take a run below
            // what it would have done with a fixed window.
            settings: .init(start: connections * inFlight, ceiling: ceiling, minimum: connections * inFlight, fixed: fixed), now: now
        )
        // Wide enough that a record waiting out a retry backoff, or the slowest answer of a
        // long-tailed service (its p99.9 can be ten times its median), does not stall the others
        // for long. (Its storage grows only as far as it is used.)
        window = ReorderWindow(start: start, limit: ceiling * 16)
        planner = DispatchPlanner(
            // What a kill can cost in requests sent again: the requests in flight and the results
            // not yet durable together stay within the window.
            action: action, undurableLimit: controller.window, rate: configuration.rate, burst: configuration.burst,
            adaptiveRate: configuration.adaptiveRate, now: now
        )
        // A connection may carry up to --in-flight-max: the window, not the connection, limits.
        pool = ConnectionPoolStateMachine(
            count: connections, maxInFlight: fixed ? inFlight : max(inFlight, configuration.inFlightMax), policy: configuration.retry, now: now
        )
        self.connections = Array(repeating: nil, count: connections)
        receivers = Array(repeating: nil, count: connections)
        classifier = AnswerClassifier(
            action: action, omit: configuration.omit, retry: configuration.retry, masking: configuration.masking, key: configuration.key
        )
        tlsContext = NIOSSLContextBox()
        promise = loop.makePromise()
        stage.digestOfUnwritten = { [unowned self] seq in digestOfUnwritten(seq) }
    }

    /// Runs a job: checks the credentials and the template, then runs the engine on one event
    /// loop until every record is finished, the job is interrupted or it cannot go on.
    static func run(
        configuration: BatchJob.Configuration, store: CheckpointStore, jobId: String, logger: Logger, interruptions: AsyncStream<Void>?
    ) async throws -> JobSummary {
        let tlsContext = NIOSSLContextBox()
        try await Preflight.check(configuration: configuration, tlsContext: tlsContext, reference: "\(jobId):validate", logger: logger)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let engine = try Engine(configuration: configuration, store: store, jobId: jobId, logger: logger, loop: loop)
        let listener = Task {
            guard let interruptions else { return }
            for await _ in interruptions { loop.execute { engine.interrupt() } }
        }
        defer { listener.cancel() }
        loop.execute { engine.start() }
        do {
            let summary = try await engine.promise.futureResult.get()
            await engine.stage.shutdown()
            return summary
        } catch {
            await engine.stage.shutdown()
            throw error
        }
    }

    func start() {
        timer = loop.scheduleRepeatedTask(initialDelay: .milliseconds(250), delay: .milliseconds(250)) { [self] _ in tick() }
        for action in pool.start() { perform(action, error: nil) }
        pump()
    }

    /// One step of the job: read and send what the limits allow, write what is finished in
    /// order, and end the job when there is nothing left to do.
    func pump() {
        burstClock = nil
        guard !finishing else { return }
        do {
            // The answered records' lines first: a batch that dispatching hands to the checkpoint
            // then holds them, and their results go without their tokens.
            try drain()
            if !stopping && fatal == nil && failure == nil && !stage.isBusy {
                try fill()
                dispatch()
            }
            // ... and those that reading finished at once (records that cannot be sent).
            try drain()
        } catch let error as JobError {
            fatal = error
        } catch {
            failure = error
        }
        if fatal != nil || failure != nil || (readerDone && window.isEmpty) || (stopping && (pool.inFlight == 0 || stopExpired)) {
            finish()
        }
    }

    /// Pumps once after the events that are already queued on the loop (the rest of a read
    /// burst's answers): one round of dispatching for them all.
    func schedulePump() {
        guard !pumpScheduled else { return }
        pumpScheduled = true
        loop.execute { [self] in
            pumpScheduled = false
            pump()
        }
    }

    /// Watches a batch handed to the checkpoint stage: a disk that fails ends the job.
    func watch(_ future: EventLoopFuture<Void>) {
        future.whenComplete { [self] result in
            if case .failure(let error) = result, failure == nil { failure = error }
            schedulePump()
        }
    }

    func tick() {
        configuration.progress?(progress())
        if fatal == nil, !stopping, let message = watchdog.expired(now: .now()) {
            fatal = JobError(.transient, message)
        }
        abandonSilentConnections()
        planner.tick(now: .now())
        // Results wait at most a tick before they are durable.
        if stage.hasWork && stage.outstanding == 0 { watch(stage.submit()) }
        // The engine's state four times a second at --log-level trace (through the logger, masked like every line).
        if logger.logLevel <= .trace {
            let state = pool.sessions.map { "\($0.state)/\($0.inFlight)" }.joined(separator: " ")
            logger.trace(
                "engine state",
                metadata: [
                    "next.write": "\(window.nextToWrite)", "slots": "\(window.count)", "queued": "\(planner.queued)", "sessions": "\(state)",
                    "rate": "\(planner.limiter.map { "\($0.rate)" } ?? "unlimited")",
                ]
            )
        }
        schedulePump()
    }

    func interrupt() {
        guard !stopping, !finishing else { return }
        stopping = true
        pool.stop()
        logger.notice("stopping: no more records are read; waiting for the requests in flight", metadata: ["in-flight": "\(pool.inFlight)"])
        loop.scheduleTask(in: configuration.stopDeadline.timeAmount) { [self] in
            stopExpired = true
            pump()
        }
        pump()
    }
}
