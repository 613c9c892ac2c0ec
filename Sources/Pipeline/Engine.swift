import Checkpoint
import Foundation
import Logging
import NIOCore
import NIOPosix
import ShieldConex

/// The job's moving parts; lives in one task, so none of its state is shared. Everything that
/// happens elsewhere (answers, connections, timers, signals) arrives as an ``Event``.
struct Engine {
    enum Event: Sendable {
        case answered(seq: Int, connection: Int, generation: Int, Result<Response, any Error>)
        case answers(connection: Int, generation: Int, [AnswerBatch.Answer])
        case connected(index: Int, ShieldConexConnection)
        case connectFailed(index: Int, any Error)
        case closed(index: Int, generation: Int)
        case retryDue(seq: Int)
        case rateWake
        case tick
        case interrupt
        case stopDeadline
    }

    struct Slot {
        var record: InputRecord
        var mapped: MappedRecord?
        var after: RecordPosition
        /// The bfid read from the record (detokenize and read jobs).
        var bfid: String?
        var result: RecordResult?
        var attempts = 0
        var sentAt: NIODeadline?
        /// When the record first failed transiently: its retry budget runs from here.
        var failingSince: NIODeadline?
        /// A retry is scheduled (not in flight).
        var waitingToRetry = false
        /// The next send repeats a request that failed (counted as a retry).
        var isRetry = false
        /// A record whose values name a field twice goes as several requests, one after the
        /// other: the groups (indices into the mapped values), the one being sent, and what the
        /// earlier ones answered.
        var groups: [[Int]]?
        var group = 0
        var groupTokens: [String] = []
        var groupBfids: [String] = []
        /// The keyed digest of the record's values as read now, stored with its result.
        var digest: [UInt8]?
    }

    struct Outbox {
        var seqs: [Int] = []
        var requests: [Request] = []

        mutating func clear() {
            seqs.removeAll(keepingCapacity: true)
            requests.removeAll(keepingCapacity: true)
        }
    }

    struct Session {
        var connection: ShieldConexConnection?
        var inFlight = 0
        var generation = 0
        var failures = 0
        var connecting = false
        var answers: AnswerBatch?
    }

    let configuration: BatchJob.Configuration
    let action: JobAction
    let store: CheckpointStore
    let logger: Logger
    let mapper: FieldMapper
    let renderer: OutputRenderer
    let identifier: RecordIdentifier?
    let bfidReader: RecordIdentifier?
    let rejectsRenderer = RejectsRenderer()
    var reader: any RecordReader
    let output: OutputFile
    let rejects: OutputFile
    let events: AsyncStream<Event>
    let sink: AsyncStream<Event>.Continuation
    let tlsContext: NIOSSLContextBox
    let jobId: String
    let digestKey: DigestKey

    var sessions: [Session]
    /// Requests chosen for each session in this round of dispatching, sent together.
    var outbox: [Outbox]
    var limiter: RateLimiter?
    var aimd: AIMDController
    var wakePending = false
    var slots: [Int: Slot] = [:]
    var sendQueue: [Int] = []
    /// Reads recorded as sent, waiting for that record to be durable before they go out.
    var pendingReads: [(seq: Int, session: Int)] = []
    /// Results of earlier runs for records not yet read, loaded a chunk of seqs at a time.
    var reused: [Int: RecordResult] = [:]
    var reusedThrough: Int
    /// After the first transient failure is written, the commit point stays before it, so that
    /// the next run reads that record again (and reuses every stored result after it).
    var commitFrozen = false
    /// When a connection was last up (or the run started): a service that refuses every
    /// handshake with 429/503 is given the retry budget, not a number of attempts.
    var lastConnected = NIODeadline.now()
    var nextToWrite: Int
    var readerDone = false
    var stopping = false
    var stopExpired = false
    var summary = JobSummary()
    var latency = LatencyRecorder()
    var fatal: JobError?
    var lastCommit = ContinuousClock.now
    var uncommitted = 0
    var lastWritten: (seq: Int, after: RecordPosition)?
    var line: [UInt8] = []
    var sentSinceTick = 0
    var lastTick = NIODeadline.now()
    var observedRate = 0.0
    /// The input's size and the records finished before this run, for progress snapshots.
    let inputSize: Int64
    let finishedBefore: Int
    var started = ContinuousClock.now

    init(configuration: BatchJob.Configuration, store: CheckpointStore, jobId: String, logger: Logger) throws {
        self.configuration = configuration
        self.action = configuration.action
        self.store = store
        self.jobId = jobId
        self.digestKey = configuration.digestKey
        self.logger = logger
        let point = store.commitPoint
        let opened: (reader: any RecordReader, header: CSVHeader?)
        do {
            let start = point.map { RecordPosition(seq: $0.seq + 1, offset: $0.inputOffset, line: $0.inputLine) }
            opened = try InputSource.open(path: configuration.inputPath, format: configuration.format, delimiter: configuration.delimiter, from: start)
            var mapper = try FieldMapper(
                instructions: configuration.action == .tokenize ? configuration.instructions : configuration.instructions.map(\.forTokens),
                format: configuration.format, header: opened.header
            )
            // A read fills columns that an --omit tokenize job left empty.
            mapper.acceptsEmpty = configuration.action == .read
            self.mapper = mapper
            renderer = try OutputRenderer(
                format: configuration.format, header: opened.header, delimiter: configuration.delimiter, bfidColumn: configuration.bfidColumn,
                writesBfid: configuration.action.producesBfid
            )
            identifier = try configuration.idColumn.map { name throws(MappingError) in
                let identifier = try RecordIdentifier(idColumn: name, format: configuration.format, header: opened.header)
                try identifier.checkNotMapped(by: mapper, name: name)
                return identifier
            }
            bfidReader = configuration.action.producesBfid
                ? nil : try RecordIdentifier(idColumn: configuration.bfidColumn, format: configuration.format, header: opened.header)
        } catch let error as MappingError {
            throw JobError(.configuration, error.description)
        }
        reader = opened.reader
        // Only a detokenize output holds plaintext; every output is created 0600 all the same.
        do {
            output = try OutputFile(path: configuration.outputPath, resumeAt: point?.outputOffset, expected: try store.fileIdentity("output"))
            rejects = try OutputFile(path: configuration.rejectsPath, resumeAt: point?.rejectsOffset, expected: try store.fileIdentity("rejects"))
        } catch let error as OutputFile.IOError {
            throw JobError(.configuration, error.description)
        }
        if point == nil {
            try store.setFileIdentity("output", output.identity)
            try store.setFileIdentity("rejects", rejects.identity)
            try output.write(renderer.headerLine())
            try rejects.write(RejectsRenderer.headerLine)
        }
        nextToWrite = (point?.seq ?? -1) + 1
        finishedBefore = nextToWrite
        inputSize = (try? FileManager.default.attributesOfItem(atPath: configuration.inputPath)[.size] as? NSNumber)?.int64Value ?? 0
        reusedThrough = nextToWrite - 1
        (events, sink) = AsyncStream.makeStream(of: Event.self)
        sessions = Array(repeating: Session(), count: max(1, configuration.connections))
        outbox = Array(repeating: Outbox(), count: sessions.count)
        limiter = configuration.rate.map { RateLimiter(rate: $0, burst: configuration.burst) }
        aimd = AIMDController(ceiling: configuration.rate)
        tlsContext = NIOSSLContextBox()
    }

    // Wide enough that a record waiting out a retry backoff does not stall the others for long.
    var windowLimit: Int { max(1, configuration.connections) * max(1, configuration.inFlight) * 16 }

    var inFlight: Int { sessions.reduce(0) { $0 + $1.inFlight } }

    mutating func run(interruptions: AsyncStream<Void>?) async throws -> JobSummary {
        started = ContinuousClock.now
        try await validate()
        for index in sessions.indices { connect(index, after: .zero) }
        let ticker = Task { [sink] in
            // Ticks let time-based work happen (commits, rate recovery) when no answer arrives.
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                sink.yield(.tick)
            }
        }
        let listener = Task { [sink] in
            guard let interruptions else { return }
            for await _ in interruptions { sink.yield(.interrupt) }
        }
        defer {
            ticker.cancel()
            listener.cancel()
        }
        var iterator = events.makeAsyncIterator()
        while true {
            if !stopping {
                try fill()
                try dispatch()
            }
            try drain()
            if var fatal {
                try commit()
                closeAll()
                fatal.summary = finishedSummary()
                throw fatal
            }
            if readerDone && slots.isEmpty { break }
            if stopping && (inFlight == 0 || stopExpired) { break }
            guard let event = await iterator.next() else { break }
            try handle(event)
        }
        if stopping && !(readerDone && slots.isEmpty) {
            try giveUpWaitingRetries()
            try drain()
            summary = finishedSummary()
            try commit()
            closeAll()
            let abandoned = inFlight
            var error = JobError(
                .interrupted,
                "interrupted: \((store.commitPoint?.seq ?? -1) + 1) records are finished and committed"
                    + (abandoned > 0 ? "; \(abandoned) requests in flight were abandoned" : "")
                    + (summary.transient > 0 ? "; \(summary.transient) waiting to be retried are in the rejects file as transient" : "")
            )
            error.summary = summary
            throw error
        }
        summary = finishedSummary()
        try commit(complete: !commitFrozen)
        closeAll()
        if commitFrozen {
            var error = JobError(
                .transient,
                "\(summary.transient) records were still failing for a transient reason (throttling, server errors, lost "
                    + "connections) when their retry budget (--retry-for) ran out; they are in the rejects file as transient"
            )
            error.summary = summary
            throw error
        }
        return summary
    }

    /// At a stop, records waiting out a retry backoff become transient rejects: written in
    /// order with the rest, and sent again by the next run.
    mutating func giveUpWaitingRetries() throws {
        for position in slots.indices where slots.values[position].waitingToRetry && slots.values[position].result == nil {
            let seq = slots.keys[position]
            let result = RecordResult(
                seq: seq, status: .transient, errorCode: "transient",
                message: "transient: the run stopped while the record waited to be retried; the next run of the same command sends it again",
                attempts: slots.values[position].attempts
            )
            try store.record(result)
            slots.values[position].result = result
            slots.values[position].waitingToRetry = false
        }
    }

    /// Seconds since the run started.
    var elapsedSeconds: Double {
        let elapsed = ContinuousClock.now - started
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// The summary with the figures that are only known at the end.
    func finishedSummary() -> JobSummary {
        var finished = summary
        finished.finishedBefore = finishedBefore
        finished.unfinished = slots.count
        finished.latency = latency.summary
        finished.lowestRate = aimd.lowest
        finished.seconds = elapsedSeconds
        return finished
    }

    /// What the progress display shows.
    func progress() -> JobProgress {
        var progress = JobProgress()
        progress.finished = nextToWrite
        progress.finishedBefore = finishedBefore
        let position = reader.nextPosition
        if readerDone {
            progress.total = position.seq
            progress.totalIsEstimate = false
        } else {
            progress.total = JobProgress.estimateTotal(records: position.seq, bytesRead: position.offset, fileSize: inputSize)
        }
        progress.inFlight = inFlight
        progress.errors = summary.rejected + summary.outcomeUnknown + summary.transient
        progress.retries = summary.retries
        progress.reconnects = summary.reconnects
        progress.seconds = elapsedSeconds
        return progress
    }

    /// partner-validate and template-validate before the first record.
    func validate() async throws {
        let connection: ShieldConexConnection
        do {
            connection = try await ShieldConexConnection.connectRetryingRefusals(
                to: configuration.endpoint, key: configuration.key, for: configuration.retry.budget, configuration: configuration.connection,
                tlsContext: try tlsContext.context(for: configuration), logger: logger
            )
        } catch let error as ShieldConexError where error.isAuthenticationFailure {
            throw JobError(.fatalAnswer, "\(error)")
        } catch {
            throw JobError(.connection, "cannot connect to \(configuration.endpoint): \(error)")
        }
        let partner: Response
        let template: Response
        do {
            // A throttled validation is asked again: the job should not fail on the service's busy second.
            partner = try await connection.sendRetryingTransient(.partnerValidate(reference: "\(jobId):validate"), for: configuration.retry.budget)
            template = try await connection.sendRetryingTransient(
                .templateValidate(templateRef: configuration.templateRef, reference: "\(jobId):validate"), for: configuration.retry.budget
            )
            await connection.close()
        } catch {
            await connection.close()
            throw JobError(.connection, "the connection to \(configuration.endpoint) failed while validating: \(error)")
        }
        guard partner.success else {
            throw JobError(.fatalAnswer, "partner-validate failed: \(partner.failure?.description ?? "the credentials were not accepted")")
        }
        guard template.success else {
            throw JobError(.fatalAnswer, "template-validate failed for templateRef \(configuration.templateRef): \(template.failure?.description ?? "not found or not provisioned for this partner")")
        }
    }

    // MARK: Reading

    mutating func fill() throws {
        while !readerDone, slots.count < windowLimit, sendQueue.count < configuration.inFlight * 2 {
            guard let record = try reader.next() else {
                readerDone = true
                return
            }
            summary.recordsRead += 1
            var slot = Slot(record: record, after: reader.nextPosition)
            if record.seq > reusedThrough {
                reusedThrough = record.seq + Self.reusedChunk - 1
                reused = try store.results(in: record.seq...reusedThrough)
            }
            if let stored = reused.removeValue(forKey: record.seq), stored.status != .transient {
                switch stored.status {
                case .sent:
                    // A read that went out before the last run stopped, its answer never recorded.
                    slot.result = RecordResult(
                        seq: record.seq, status: .outcomeUnknown, errorCode: "outcome-unknown",
                        message: "the read was sent before the previous run stopped and its answer was not recorded; it is not sent again",
                        attempts: stored.attempts
                    )
                    try store.record(slot.result!)
                    slots[record.seq] = slot
                    continue
                case .done where action.answersPlaintext && stored.bfid != nil:
                    break  // plaintext is never checkpointed: ask again (detokenize is safe to repeat)
                default:
                    let remapped = mapper.map(record)
                    // A stored result that no longer fits the record (a damaged row) is asked again,
                    // never rendered with tokens that are not there.
                    if stored.status == .done, stored.bfid != nil, case .success(let mapped) = remapped,
                        stored.tokens.count != mapped.values.count
                    {
                        break
                    }
                    // A record edited in place since its result was stored is sent again: the
                    // result belongs to the values it had then.
                    if let digest = stored.digest, digest != recordDigest(record, remapped) { break }
                    summary.reusedFromCheckpoint += 1
                    slot.result = stored
                    if case .success(let mapped) = remapped { slot.mapped = mapped }
                    slots[record.seq] = slot
                    continue
                }
            }
            let mapping = mapper.map(record)
            slot.digest = recordDigest(record, mapping)
            switch mapping {
            case .failure(let error):
                slot.result = RecordResult(
                    seq: record.seq, status: .rejected, errorCode: error.code.rawValue, message: configuration.masking.mask(error.message), attempts: 0,
                    digest: slot.digest
                )
                try store.record(slot.result!)
            case .success(let mapped):
                slot.mapped = mapped
                if mapped.values.isEmpty {
                    slot.result = RecordResult(seq: record.seq, status: .done, attempts: 0, digest: slot.digest)
                    try store.record(slot.result!)
                } else if let bfidReader {
                    // The bfid column says how the record was tokenized: one bfid, one request (the
                    // one-request form); several, one request per group of values.
                    let bfids = bfidReader.id(of: record).map { $0.split(separator: MappedRecord.bfidSeparator).count } ?? 0
                    if bfids > 1, let groups = mapped.requestGroups { slot.groups = groups }
                    if let bfid = bfidReader.id(of: record), !bfid.isEmpty, bfids == (slot.groups?.count ?? 1) {
                        slot.bfid = bfid
                        sendQueue.append(record.seq)
                    } else if let bfid = bfidReader.id(of: record), !bfid.isEmpty {
                        slot.result = RecordResult(
                            seq: record.seq, status: .rejected, errorCode: "bfid-mismatch",
                            message: "the record has \(mapped.requestGroups?.count ?? 1) groups of values but \(bfids) bfids in '\(configuration.bfidColumn)'",
                            attempts: 0, digest: slot.digest
                        )
                        try store.record(slot.result!)
                    } else {
                        slot.result = RecordResult(
                            seq: record.seq, status: .rejected, errorCode: "missing-bfid",
                            message: "the record has no value in '\(configuration.bfidColumn)'", attempts: 0, digest: slot.digest
                        )
                        try store.record(slot.result!)
                    }
                } else {
                    if !configuration.allowRepeatedFields, let groups = mapped.requestGroups {
                        slot.groups = groups
                        slot.groupTokens = Array(repeating: "", count: mapped.values.count)
                    }
                    sendQueue.append(record.seq)
                }
            }
            slots[record.seq] = slot
        }
    }

    /// The keyed digest of a record's mapped values (its bytes when it does not map).
    func recordDigest(_ record: InputRecord, _ mapping: Result<MappedRecord, RecordError>) -> [UInt8] {
        switch mapping {
        case .success(let mapped):
            var parts: [[UInt8]] = []
            parts.reserveCapacity(mapped.values.count * 2)
            for value in mapped.values {
                parts.append(Array(value.name.utf8))
                parts.append(Array(value.value.utf8))
            }
            return digestKey.digest(parts)
        case .failure:
            return digestKey.digest([record.bytes])
        }
    }

    /// How many seqs of stored results are loaded at once on a resume.
    static let reusedChunk = 8_192

    // MARK: Sending

    /// Requests sent whose results are not yet durable: the most a kill can cost in requests
    /// sent again. Answers join the checkpoint's batch, which is written once it holds a quarter
    /// of this, so sending goes on while the batch fills.
    var undurableLimit: Int { max(1, configuration.connections) * max(1, configuration.inFlight) }

    mutating func dispatch() throws {
        if store.pendingCount >= max(1, undurableLimit / 4) { try store.flush() }
        while !sendQueue.isEmpty, inFlight + store.pendingCount < undurableLimit {
            guard let index = leastLoadedSession() else { break }
            if let wait = limiter?.take(now: .now()) {
                wakeUp(after: wait)
                break
            }
            let seq = sendQueue.removeFirst()
            guard let position = slots.index(forKey: seq), slots.values[position].mapped != nil else { continue }
            slots.values[position].attempts += 1
            let attempts = slots.values[position].attempts
            sessions[index].inFlight += 1
            summary.requestsSent += 1
            sentSinceTick += 1
            if slots.values[position].isRetry {
                summary.retries += 1
                slots.values[position].isRetry = false
            }
            if action.isSafeToRepeat {
                send(seq: seq, on: index)
            } else {
                // A read must never go out twice: its going out is durable before it goes.
                try store.record(RecordResult(seq: seq, status: .sent, attempts: attempts))
                pendingReads.append((seq, index))
            }
        }
        if !pendingReads.isEmpty {
            try store.flush()
            for (seq, index) in pendingReads { send(seq: seq, on: index) }
            pendingReads.removeAll(keepingCapacity: true)
        }
        sendOutbox()
    }

    /// Queues the request of `seq` for session `index`; ``sendOutbox()`` sends each session's
    /// requests with one write and one flush on its event loop.
    mutating func send(seq: Int, on index: Int) {
        guard let position = slots.index(forKey: seq), slots.values[position].mapped != nil else { return }
        let values = requestValues(position)
        let group = slots.values[position].group
        let reference = group == 0 ? "\(jobId):\(seq)" : "\(jobId):\(seq).\(group)"
        let request: Request
        switch action {
        case .tokenize:
            request = .tokenize(
                templateRef: configuration.templateRef, values: values, omit: configuration.omit, store: configuration.store,
                reference: reference
            )
        case .detokenize:
            request = .detokenize(bfid: requestBfid(position), values: values, reference: reference)
        case .read:
            request = .read(bfid: requestBfid(position), reference: reference)
        }
        slots.values[position].sentAt = .now()
        outbox[index].seqs.append(seq)
        outbox[index].requests.append(request)
    }

    /// The values of the request being sent for a slot: all of them, or its current group's.
    func requestValues(_ position: Dictionary<Int, Slot>.Index) -> [FieldValue] {
        let values = slots.values[position].mapped!.values
        guard let groups = slots.values[position].groups else { return values }
        return groups[slots.values[position].group].map { values[$0] }
    }

    /// The bfid of the request being sent (detokenize, read): the current group's.
    func requestBfid(_ position: Dictionary<Int, Slot>.Index) -> String {
        let bfid = slots.values[position].bfid!
        guard slots.values[position].groups != nil else { return bfid }
        return String(bfid.split(separator: MappedRecord.bfidSeparator)[slots.values[position].group])
    }

    mutating func sendOutbox() {
        for index in outbox.indices where !outbox[index].seqs.isEmpty {
            let generation = sessions[index].generation
            let sink = self.sink
            guard let connection = sessions[index].connection else {
                // The session went down between choosing it and sending: the requests are lost.
                for seq in outbox[index].seqs {
                    sink.yield(.answered(seq: seq, connection: index, generation: generation, .failure(ShieldConexError.connectionClosed)))
                }
                outbox[index].clear()
                continue
            }
            let futures = connection.send(outbox[index].requests)
            guard let first = futures.first else { continue }
            if sessions[index].answers == nil {
                sessions[index].answers = AnswerBatch(eventLoop: first.eventLoop) { batch in
                    sink.yield(.answers(connection: index, generation: generation, batch))
                }
            }
            let answers = sessions[index].answers!
            for (position, future) in futures.enumerated() {
                let seq = outbox[index].seqs[position]
                future.whenComplete { result in answers.add(seq: seq, result: result) }
            }
            outbox[index].clear()
        }
    }

    mutating func handle(_ event: Event) throws {
        switch event {
        case .answered(let seq, let index, let generation, let result):
            // Late answers of a replaced connection do not count against its successor.
            if sessions[index].generation == generation {
                sessions[index].inFlight = max(0, sessions[index].inFlight - 1)
            }
            try answered(seq: seq, result: result)
        case .answers(let index, let generation, let batch):
            if sessions[index].generation == generation {
                sessions[index].inFlight = max(0, sessions[index].inFlight - batch.count)
            }
            for answer in batch { try answered(seq: answer.seq, result: answer.result) }
        case .connected(let index, let connection):
            sessions[index].connection = connection
            sessions[index].answers = nil
            sessions[index].connecting = false
            sessions[index].failures = 0
            lastConnected = .now()
            sessions[index].generation += 1
            let generation = sessions[index].generation
            let sink = self.sink
            connection.closeFuture.whenComplete { _ in sink.yield(.closed(index: index, generation: generation)) }
            if stopping { Task { await connection.close() } }
        case .connectFailed(let index, let error):
            sessions[index].connecting = false
            sessions[index].failures += 1
            logger.warning("connection failed", metadata: ["session.id": "\(index)", "error": "\(error)"])
            let failure = error as? ShieldConexError
            let allDown = sessions.allSatisfy { $0.connection == nil }
            if let failure, failure.isAuthenticationFailure {
                fatal = JobError(.fatalAnswer, "\(failure)")
            } else if let failure, failure.isTransientRefusal {
                // 429/503: the service is there but busy; it gets the retry budget, and its Retry-After.
                let refusedFor = Duration.nanoseconds((NIODeadline.now() - lastConnected).nanoseconds)
                if allDown && !configuration.retry.allowsRetry(after: refusedFor) {
                    fatal = JobError(.connection, "\(configuration.endpoint) refused every connection for \(Self.describe(refusedFor)): \(failure)")
                } else if !stopping {
                    let backoff = configuration.retry.backoff(beforeAttempt: sessions[index].failures + 1)
                    connect(index, after: max(backoff, failure.retryAfter ?? .zero))
                }
            } else if allDown && sessions[index].failures >= 8 {
                fatal = JobError(.connection, "cannot reach \(configuration.endpoint) after \(sessions[index].failures) attempts: \(error)")
            } else if !stopping {
                connect(index, after: configuration.retry.backoff(beforeAttempt: sessions[index].failures + 1))
            }
        case .closed(let index, let generation):
            guard sessions[index].generation == generation else { return }
            sessions[index].connection = nil
            sessions[index].inFlight = 0
            if stopping { return }
            summary.reconnects += 1
            connect(index, after: configuration.retry.backoff(beforeAttempt: 2))
        case .retryDue(let seq):
            guard let position = slots.index(forKey: seq), slots.values[position].waitingToRetry else { return }
            slots.values[position].waitingToRetry = false
            sendQueue.append(seq)
        case .rateWake:
            wakePending = false
        case .tick:
            tick()
        case .interrupt:
            guard !stopping else { return }
            stopping = true
            logger.notice("stopping: no more records are read; waiting for the requests in flight", metadata: ["in-flight": "\(inFlight)"])
            let sink = self.sink
            MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: configuration.stopDeadline.timeAmount) { sink.yield(.stopDeadline) }
        case .stopDeadline:
            stopExpired = true
        }
    }

    mutating func tick() {
        configuration.progress?(progress())
        let now = NIODeadline.now()
        let seconds = Double((now - lastTick).nanoseconds) / 1e9
        if seconds > 0 {
            // Smoothed over about a second.
            observedRate = observedRate * 0.5 + Double(sentSinceTick) / seconds * 0.5
        }
        sentSinceTick = 0
        lastTick = now
        if configuration.adaptiveRate, let raised = aimd.tick(now: now) {
            limiter?.adjust(rate: raised)
        }
        if ProcessInfo.processInfo.environment["BT_DEBUG"] != nil {
            let state = sessions.map { "\($0.connection != nil ? "up" : "down")/\($0.inFlight)" }.joined(separator: " ")
            FileHandle.standardError.write(Data("debug: next \(nextToWrite) slots \(slots.count) queue \(sendQueue.count) sessions \(state) rate \(limiter.map { "\($0.rate)" } ?? "unlimited")\n".utf8))
        }
    }

    /// Every answer feeds the congestion controller: a rising share of transient ones (whatever
    /// their code) lowers the send rate.
    mutating func congestion(transient: Bool) {
        if transient { summary.throttled += 1 }
        guard configuration.adaptiveRate,
            let lowered = aimd.answered(transient: transient, now: .now(), observedRate: observedRate)
        else { return }
        logger.info(
            "the service is pushing back (transient answers): lowering the send rate",
            metadata: ["rate": "\(Int(lowered))", "transient.share": "\(Int(aimd.transientShare * 100))%"]
        )
        if limiter == nil {
            limiter = RateLimiter(rate: lowered)
        } else {
            limiter!.adjust(rate: lowered)
        }
    }

    mutating func answered(seq: Int, result: Result<Response, any Error>) throws {
        // Slots are read and changed in place: copying one retains every array and string it holds.
        guard let position = slots.index(forKey: seq), slots.values[position].result == nil, slots.values[position].mapped != nil else { return }
        let attempts = slots.values[position].attempts
        let mappedValues = requestValues(position)
        let now = NIODeadline.now()
        if let sentAt = slots.values[position].sentAt { latency.record(nanoseconds: (now - sentAt).nanoseconds) }
        let outcome: RecordResult
        switch result {
        case .success(let response) where response.success:
            congestion(transient: false)
            guard let values = answeredValues(response, for: mappedValues) else {
                outcome = RecordResult(
                    seq: seq, status: .rejected, messageId: response.messageId, errorCode: "answer-mismatch",
                    message: "the answer has \(response.values?.count ?? 0) values for \(mappedValues.count) mapped", attempts: attempts
                )
                break
            }
            let answeredBfid = action.producesBfid ? response.bfid : requestBfid(position)
            guard let answeredBfid else {
                outcome = RecordResult(
                    seq: seq, status: .rejected, messageId: response.messageId, errorCode: "answer-mismatch",
                    message: "the answer has no bfid", attempts: attempts
                )
                break
            }
            guard let (bfid, tokens) = completeGroup(position, bfid: answeredBfid, tokens: values) else { return }
            outcome = RecordResult(seq: seq, status: .done, bfid: bfid, messageId: response.messageId, tokens: tokens, attempts: attempts)
            if action.answersPlaintext {
                // The plaintext stays in memory until its line is written; the checkpoint learns only that it was done.
                try store.record(
                    RecordResult(seq: seq, status: .done, bfid: bfid, messageId: response.messageId, attempts: attempts, digest: slots.values[position].digest)
                )
                slots.values[position].result = outcome
                return
            }
        case .success(let response):
            let code = response.failure?.code
            let transient = code?.isTransient ?? false
            congestion(transient: transient)
            if let code, code.isFatal {
                fatal = JobError(.fatalAnswer, "the service answered \(response.failure!): the job cannot go on")
                return
            }
            if transient, let code {
                // A throttled request (1429) was not carried out, so even a read may go again; a
                // read that met 8001 (the service's "internal error") may have been carried out.
                if action.isSafeToRepeat || code == .rateLimited {
                    if let given = retryOrGiveUp(position: position, now: now, reason: "the service answered \(code)") {
                        outcome = RecordResult(seq: seq, status: .transient, messageId: response.messageId, errorCode: String(code.rawValue), message: given, attempts: attempts)
                        break
                    }
                    return
                }
                outcome = RecordResult(
                    seq: seq, status: .outcomeUnknown, messageId: response.messageId, errorCode: "outcome-unknown",
                    message: "the read was answered with \(code): it may have been carried out, and a read is not sent twice", attempts: attempts
                )
                break
            }
            outcome = RecordResult(
                seq: seq, status: .rejected, messageId: response.messageId, errorCode: code.map { String($0.rawValue) } ?? "unknown",
                message: configuration.masking.mask(response.failure?.message ?? "the service answered success: false", values: mappedValues.map(\.value)),
                attempts: attempts
            )
        case .failure(let error):
            let retryable = (error as? ShieldConexError)?.isRetryable ?? false
            congestion(transient: retryable)
            if retryable, !action.isSafeToRepeat {
                outcome = RecordResult(
                    seq: seq, status: .outcomeUnknown, errorCode: "outcome-unknown",
                    message: configuration.masking.mask("the answer was lost (\(error)); a read is not sent twice"), attempts: attempts
                )
                break
            }
            if retryable {
                if let given = retryOrGiveUp(position: position, now: now, reason: configuration.masking.mask("\(error)")) {
                    outcome = RecordResult(seq: seq, status: .transient, errorCode: "transient", message: given, attempts: attempts)
                    break
                }
                return
            }
            outcome = RecordResult(
                seq: seq, status: .rejected, errorCode: "client-error", message: configuration.masking.mask("\(error)"), attempts: attempts
            )
        }
        var stamped = outcome
        stamped.digest = slots.values[position].digest
        try store.record(stamped)
        slots.values[position].result = stamped
    }

    /// One request of a record answered with success. For a record sent as several requests,
    /// keeps its answer and queues the next group (returning `nil`); returns the record's bfid
    /// column and tokens once every group is in.
    mutating func completeGroup(_ position: Dictionary<Int, Slot>.Index, bfid: String, tokens: [String]) -> (String, [String])? {
        guard let groups = slots.values[position].groups else { return (bfid, tokens) }
        let group = slots.values[position].group
        if !tokens.isEmpty {
            if slots.values[position].groupTokens.isEmpty {
                slots.values[position].groupTokens = Array(repeating: "", count: slots.values[position].mapped!.values.count)
            }
            for (offset, index) in groups[group].enumerated() where offset < tokens.count {
                slots.values[position].groupTokens[index] = tokens[offset]
            }
        }
        slots.values[position].groupBfids.append(bfid)
        guard group + 1 == groups.count else {
            slots.values[position].group = group + 1
            slots.values[position].failingSince = nil
            sendQueue.append(slots.keys[position])
            return nil
        }
        let all = slots.values[position].groupTokens
        return (slots.values[position].groupBfids.joined(separator: String(MappedRecord.bfidSeparator)), all)
    }

    /// A transient failure: schedules the record's next attempt while its retry budget lasts
    /// (and the run is not stopping), and returns `nil`; else returns the message of its
    /// transient reject.
    mutating func retryOrGiveUp(position: Dictionary<Int, Slot>.Index, now: NIODeadline, reason: String) -> String? {
        let since = slots.values[position].failingSince ?? now
        slots.values[position].failingSince = since
        let elapsed = Duration.nanoseconds((now - since).nanoseconds)
        guard !stopping, configuration.retry.allowsRetry(after: elapsed) else {
            return "transient: \(reason); still failing after \(Self.describe(elapsed)) and \(slots.values[position].attempts) attempts; "
                + "not finished: the next run of the same command sends it again"
        }
        slots.values[position].waitingToRetry = true
        slots.values[position].isRetry = true
        scheduleRetry(seq: slots.keys[position], attempt: slots.values[position].attempts + 1)
        return nil
    }

    static func describe(_ duration: Duration) -> String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return seconds < 60 ? String(format: "%.1f s", seconds) : String(format: "%.1f min", seconds / 60)
    }

    /// The answered values in the order of the mapped ones: tokens (tokenize, read) or plaintext
    /// (detokenize). Matched by field name, else by position; `nil` when they do not fit.
    func answeredValues(_ response: Response, for mapped: [FieldValue]) -> [String]? {
        let answered = response.values ?? []
        if action == .tokenize && configuration.omit {
            // omit: the service keeps the tokens for a later read; the output gets empty values.
            return Array(repeating: "", count: mapped.count)
        }
        guard answered.count >= mapped.count || action == .read else { return nil }
        var values: [String] = []
        values.reserveCapacity(mapped.count)
        for (position, value) in mapped.enumerated() {
            if position < answered.count, answered[position].name == value.name {
                values.append(answered[position].value)
            } else if let match = answered.first(where: { $0.name == value.name }) {
                values.append(match.value)
            } else if action == .read {
                values.append(value.value)  // a field the tokenize job skipped (empty) stays as it was
            } else if answered.count == mapped.count {
                values.append(answered[position].value)
            } else {
                return nil
            }
        }
        return values
    }

    /// The open session with the fewest requests in flight and room for one more.
    func leastLoadedSession() -> Int? {
        var best: Int?
        for index in sessions.indices where sessions[index].connection != nil && sessions[index].inFlight < configuration.inFlight {
            if best == nil || sessions[index].inFlight < sessions[best!].inFlight { best = index }
        }
        return best
    }

    /// The rate limiter holds sending back: come back when its next token is due.
    mutating func wakeUp(after wait: TimeAmount) {
        guard !wakePending else { return }
        wakePending = true
        let sink = self.sink
        // Not sooner than 5 ms: under a rate limit a wake-up per token (every 0.5 ms at 2,000/s)
        // costs a task hop per request; the bucket keeps what accrues meanwhile (up to its burst).
        MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: max(wait, .milliseconds(5))) { sink.yield(.rateWake) }
    }

    /// Retries wait on an event-loop timer: precise, and independent of the task pool.
    func scheduleRetry(seq: Int, attempt: Int) {
        let delay = configuration.retry.backoff(beforeAttempt: attempt)
        let sink = self.sink
        MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: delay.timeAmount) {
            sink.yield(.retryDue(seq: seq))
        }
    }

    mutating func connect(_ index: Int, after delay: Duration) {
        guard !sessions[index].connecting else { return }
        sessions[index].connecting = true
        let sink = self.sink
        let configuration = self.configuration
        let logger = self.logger
        let tls = tlsContext
        let start = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: delay.timeAmount) {}
        Task {
            _ = try? await start.futureResult.get()
            do {
                let connection = try await ShieldConexConnection.connect(
                    to: configuration.endpoint, key: configuration.key, configuration: configuration.connection,
                    tlsContext: try tls.context(for: configuration), logger: logger
                )
                sink.yield(.connected(index: index, connection))
            } catch {
                sink.yield(.connectFailed(index: index, error))
            }
        }
    }

    func closeAll() {
        sink.finish()
        for session in sessions {
            if let connection = session.connection { Task { await connection.close() } }
        }
    }

    // MARK: Writing in order

    mutating func drain() throws {
        while let position = slots.index(forKey: nextToWrite), let result = slots.values[position].result {
            let slot = slots.remove(at: position).value
            switch result.status {
            case .done:
                line.removeAll(keepingCapacity: true)
                if let mapped = slot.mapped {
                    renderer.render(mapped, tokens: result.tokens, bfid: result.bfid ?? "", into: &line)
                    try output.write(line)
                }
                if result.bfid == nil { summary.passedThrough += 1 } else { summary.done += 1 }
            case .rejected, .outcomeUnknown, .sent, .transient:
                if result.status == .transient && !commitFrozen {
                    // Everything before it is committed; from here on the commit point stays put, so
                    // the next run reads this record again (and reuses the stored results after it).
                    try commit()
                    commitFrozen = true
                }
                line.removeAll(keepingCapacity: true)
                rejectsRenderer.render(
                    record: slot.record.number, line: slot.record.position.line, id: identifier?.id(of: slot.record).map(configuration.masking.mask),
                    code: result.errorCode ?? "unknown", message: result.message ?? "", into: &line
                )
                try rejects.write(line)
                switch result.status {
                case .rejected: summary.countRejection(code: result.errorCode ?? "unknown", message: result.message ?? "")
                case .transient: summary.transient += 1
                default: summary.outcomeUnknown += 1
                }
            }
            lastWritten = (nextToWrite, slot.after)
            nextToWrite += 1
            uncommitted += 1
            if uncommitted >= configuration.commitEvery || ContinuousClock.now - lastCommit >= configuration.commitInterval {
                try commit()
            }
        }
    }

    mutating func commit(complete: Bool = false) throws {
        if commitFrozen {
            // The files stay synced and the results stored; only the commit point does not move.
            try output.sync()
            try rejects.sync()
            try store.flush()
            uncommitted = 0
            lastCommit = ContinuousClock.now
            return
        }
        guard let lastWritten else {
            if complete {
                try output.sync()
                try rejects.sync()
                try store.commit(
                    store.commitPoint ?? CommitPoint(seq: -1, inputOffset: 0, inputLine: 1, outputOffset: output.offset, rejectsOffset: rejects.offset),
                    complete: true
                )
            }
            return
        }
        try output.sync()
        try rejects.sync()
        try store.commit(
            CommitPoint(
                seq: lastWritten.seq, inputOffset: lastWritten.after.offset, inputLine: lastWritten.after.line,
                outputOffset: output.offset, rejectsOffset: rejects.offset
            ),
            complete: complete
        )
        uncommitted = 0
        lastCommit = ContinuousClock.now
    }
}
