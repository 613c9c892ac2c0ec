import Checkpoint
import Foundation
import Logging
import NIOCore
import NIOPosix
import ShieldConex

/// Why a job stopped before its end.
public struct JobError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// Credentials, permissions or the template are wrong (8003, 8004, 1202, refused handshake).
        case fatalAnswer
        /// The service could not be reached (connections kept failing).
        case connection
        /// The job's inputs or configuration are unusable.
        case configuration
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// Tokenizes a file: reads records in order, maps them, sends them over a pool of pipelined
/// connections, records every answer in the checkpoint, and writes the output in input order.
/// Run it again after any failure and it resumes from the checkpoint.
public struct TokenizeJob: Sendable {
    public struct Configuration: Sendable {
        public var endpoint: Endpoint
        /// The name recorded in the checkpoint (`local`, `cert`, a URL), never the key.
        public var endpointName: String
        public var key: APIKey
        public var templateRef: String
        public var inputPath: String
        public var format: InputFormat
        public var delimiter: UInt8 = UInt8(ascii: ",")
        public var instructions: [Instruction]
        public var outputPath: String
        public var rejectsPath: String
        public var checkpointPath: String
        public var idColumn: String?
        public var bfidColumn = "bfid"
        public var store = false
        public var connections = 4
        public var inFlight = 64
        /// Requests per second over all connections (and across reconnects); `nil` for no limit.
        public var rate: Double?
        /// The largest burst the rate limit allows. Default: a tenth of a second's worth.
        public var burst: Double?
        public var restart = false
        public var retry = RetryPolicy()
        public var connection = ConnectionConfiguration()
        /// Commit the output every this many records ...
        public var commitEvery = 5_000
        /// ... or this often, whichever comes first.
        public var commitInterval: Duration = .milliseconds(500)

        public init(
            endpoint: Endpoint, endpointName: String, key: APIKey, templateRef: String, inputPath: String, format: InputFormat,
            instructions: [Instruction], outputPath: String, rejectsPath: String, checkpointPath: String
        ) {
            self.endpoint = endpoint
            self.endpointName = endpointName
            self.key = key
            self.templateRef = templateRef
            self.inputPath = inputPath
            self.format = format
            self.instructions = instructions
            self.outputPath = outputPath
            self.rejectsPath = rejectsPath
            self.checkpointPath = checkpointPath
        }
    }

    public enum Outcome: Sendable {
        case completed(JobSummary)
        case alreadyComplete
    }

    public let configuration: Configuration
    let logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The checkpoint identity of this job.
    public func identity() throws -> JobIdentity {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let mapping = String(decoding: try encoder.encode(configuration.instructions), as: UTF8.self)
        return JobIdentity(
            action: "tokenize", endpoint: configuration.endpointName, templateRef: configuration.templateRef,
            inputPath: configuration.inputPath, input: try InputFingerprint.of(path: configuration.inputPath), mapping: mapping,
            options: [
                "format": configuration.format.rawValue, "delimiter": String(UnicodeScalar(configuration.delimiter)),
                "bfidColumn": configuration.bfidColumn, "store": String(configuration.store),
                "idColumn": configuration.idColumn ?? "",
            ]
        )
    }

    public func run() async throws -> Outcome {
        let store: CheckpointStore
        do {
            store = try CheckpointStore(path: configuration.checkpointPath, identity: try identity(), restart: configuration.restart)
        } catch let error as CheckpointError {
            throw JobError(.configuration, error.description)
        }
        if store.isComplete { return .alreadyComplete }
        var engine = try Engine(configuration: configuration, store: store, logger: logger)
        return .completed(try await engine.run())
    }
}

/// The job's moving parts; lives in one task, so none of its state is shared.
struct Engine {
    enum Event: Sendable {
        case answered(seq: Int, connection: Int, generation: Int, Result<Response, any Error>)
        case connected(index: Int, ShieldConexConnection)
        case connectFailed(index: Int, any Error)
        case closed(index: Int, generation: Int)
        case retryDue(seq: Int)
        case rateWake
        case tick
    }

    struct Slot {
        var record: InputRecord
        var mapped: MappedRecord?
        var after: RecordPosition
        var result: RecordResult?
        var attempts = 0
    }

    struct Session {
        var connection: ShieldConexConnection?
        var inFlight = 0
        var generation = 0
        var failures = 0
        var connecting = false
    }

    let configuration: TokenizeJob.Configuration
    let store: CheckpointStore
    let logger: Logger
    let mapper: FieldMapper
    let renderer: OutputRenderer
    let identifier: RecordIdentifier?
    let rejectsRenderer = RejectsRenderer()
    var reader: any RecordReader
    let output: OutputFile
    let rejects: OutputFile
    let events: AsyncStream<Event>
    let sink: AsyncStream<Event>.Continuation
    let tlsContext: NIOSSLContextBox
    let jobId: String

    var sessions: [Session]
    var limiter: RateLimiter?
    var wakePending = false
    var slots: [Int: Slot] = [:]
    var sendQueue: [Int] = []
    var reused: [Int: RecordResult]
    var nextToWrite: Int
    var readerDone = false
    var summary = JobSummary()
    var fatal: JobError?
    var lastCommit = ContinuousClock.now
    var uncommitted = 0
    var lastWritten: (seq: Int, after: RecordPosition)?
    var line: [UInt8] = []

    init(configuration: TokenizeJob.Configuration, store: CheckpointStore, logger: Logger) throws {
        self.configuration = configuration
        self.store = store
        self.logger = logger
        let point = store.commitPoint
        let opened: (reader: any RecordReader, header: CSVHeader?)
        do {
            let start = point.map { RecordPosition(seq: $0.seq + 1, offset: $0.inputOffset, line: $0.inputLine) }
            opened = try InputSource.open(path: configuration.inputPath, format: configuration.format, delimiter: configuration.delimiter, from: start)
            mapper = try FieldMapper(instructions: configuration.instructions, format: configuration.format, header: opened.header)
            renderer = try OutputRenderer(
                format: configuration.format, header: opened.header, delimiter: configuration.delimiter, bfidColumn: configuration.bfidColumn
            )
            identifier = try configuration.idColumn.map { try RecordIdentifier(idColumn: $0, format: configuration.format, header: opened.header) }
        } catch let error as MappingError {
            throw JobError(.configuration, error.description)
        }
        reader = opened.reader
        output = try OutputFile(path: configuration.outputPath, truncateTo: point?.outputOffset ?? 0)
        rejects = try OutputFile(path: configuration.rejectsPath, truncateTo: point?.rejectsOffset ?? 0)
        if point == nil {
            try output.write(renderer.headerLine())
            try rejects.write(RejectsRenderer.headerLine)
        }
        nextToWrite = (point?.seq ?? -1) + 1
        reused = try store.results(in: nextToWrite...Int.max)
        (events, sink) = AsyncStream.makeStream(of: Event.self)
        sessions = Array(repeating: Session(), count: max(1, configuration.connections))
        limiter = configuration.rate.map { RateLimiter(rate: $0, burst: configuration.burst) }
        tlsContext = NIOSSLContextBox()
        jobId = String(UUID().uuidString.prefix(8)).lowercased()
    }

    // Wide enough that a record waiting out a retry backoff does not stall the others for long.
    var windowLimit: Int { max(1, configuration.connections) * max(1, configuration.inFlight) * 16 }

    mutating func run() async throws -> JobSummary {
        let started = ContinuousClock.now
        try await validate()
        for index in sessions.indices { connect(index, after: .zero) }
        let ticker = Task { [sink] in
            // Ticks let time-based work happen (commits) when no answer arrives.
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                sink.yield(.tick)
            }
        }
        defer { ticker.cancel() }
        var iterator = events.makeAsyncIterator()
        while true {
            try fill()
            dispatch()
            try drain()
            if let fatal {
                try commit()
                closeAll()
                throw fatal
            }
            if readerDone && slots.isEmpty { break }
            guard let event = await iterator.next() else { break }
            try handle(event)
        }
        try commit(complete: true)
        closeAll()
        summary.seconds = Double((ContinuousClock.now - started).components.seconds)
            + Double((ContinuousClock.now - started).components.attoseconds) / 1e18
        return summary
    }

    /// partner-validate and template-validate before the first record.
    func validate() async throws {
        let connection: ShieldConexConnection
        do {
            connection = try await ShieldConexConnection.connect(
                to: configuration.endpoint, key: configuration.key, configuration: configuration.connection,
                tlsContext: try tlsContext.context(for: configuration), logger: logger
            )
        } catch let error as ShieldConexError where error.isAuthenticationFailure {
            throw JobError(.fatalAnswer, "\(error)")
        } catch {
            throw JobError(.connection, "cannot connect to \(configuration.endpoint): \(error)")
        }
        defer { Task { await connection.close() } }
        let partner = try await connection.send(.partnerValidate(reference: "\(jobId):validate"))
        guard partner.success else {
            throw JobError(.fatalAnswer, "partner-validate failed: \(partner.failure?.description ?? "the credentials were not accepted")")
        }
        let template = try await connection.send(.templateValidate(templateRef: configuration.templateRef, reference: "\(jobId):validate"))
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
            if let stored = reused.removeValue(forKey: record.seq) {
                summary.reusedFromCheckpoint += 1
                slot.result = stored
                if case .success(let mapped) = mapper.map(record) { slot.mapped = mapped }
                slots[record.seq] = slot
                continue
            }
            switch mapper.map(record) {
            case .failure(let error):
                slot.result = RecordResult(seq: record.seq, status: .rejected, errorCode: error.code.rawValue, message: error.message, attempts: 0)
                try store.record(slot.result!)
            case .success(let mapped):
                slot.mapped = mapped
                if mapped.values.isEmpty {
                    slot.result = RecordResult(seq: record.seq, status: .done, attempts: 0)
                    try store.record(slot.result!)
                } else {
                    sendQueue.append(record.seq)
                }
            }
            slots[record.seq] = slot
        }
    }

    // MARK: Sending

    mutating func dispatch() {
        while !sendQueue.isEmpty {
            guard let index = leastLoadedSession() else { return }
            if let wait = limiter?.take(now: .now()) {
                wakeUp(after: wait)
                return
            }
            let seq = sendQueue.removeFirst()
            guard var slot = slots[seq], let mapped = slot.mapped else { continue }
            slot.attempts += 1
            slots[seq] = slot
            let request = Request.tokenize(
                templateRef: configuration.templateRef, values: mapped.values, omit: false, store: configuration.store,
                reference: "\(jobId):\(seq)"
            )
            sessions[index].inFlight += 1
            summary.requestsSent += 1
            if slot.attempts > 1 { summary.retries += 1 }
            let sink = self.sink
            let generation = sessions[index].generation
            sessions[index].connection!.send(request, timeout: nil).whenComplete { result in
                sink.yield(.answered(seq: seq, connection: index, generation: generation, result))
            }
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
        case .connected(let index, let connection):
            sessions[index].connection = connection
            sessions[index].connecting = false
            sessions[index].failures = 0
            sessions[index].generation += 1
            let generation = sessions[index].generation
            let sink = self.sink
            connection.closeFuture.whenComplete { _ in sink.yield(.closed(index: index, generation: generation)) }
        case .connectFailed(let index, let error):
            sessions[index].connecting = false
            sessions[index].failures += 1
            logger.warning("connection failed", metadata: ["session.id": "\(index)", "error": "\(error)"])
            if let failure = error as? ShieldConexError, failure.isAuthenticationFailure {
                fatal = JobError(.fatalAnswer, "\(failure)")
            } else if sessions.allSatisfy({ $0.connection == nil }) && sessions[index].failures >= 8 {
                fatal = JobError(.connection, "cannot reach \(configuration.endpoint) after \(sessions[index].failures) attempts: \(error)")
            } else {
                connect(index, after: configuration.retry.backoff(beforeAttempt: sessions[index].failures + 1))
            }
        case .closed(let index, let generation):
            guard sessions[index].generation == generation else { return }
            sessions[index].connection = nil
            sessions[index].inFlight = 0
            summary.reconnects += 1
            connect(index, after: configuration.retry.backoff(beforeAttempt: 2))
        case .retryDue(let seq):
            sendQueue.append(seq)
        case .rateWake:
            wakePending = false
        case .tick:
            if ProcessInfo.processInfo.environment["BT_DEBUG"] != nil {
                let state = sessions.map { "\($0.connection != nil ? "up" : "down")/\($0.inFlight)" }.joined(separator: " ")
                FileHandle.standardError.write(Data("debug: next \(nextToWrite) slots \(slots.count) queue \(sendQueue.count) sessions \(state) waiting \(slots[nextToWrite].map { "attempts \($0.attempts) result \($0.result != nil)" } ?? "none")\n".utf8))
            }
        }
    }

    mutating func answered(seq: Int, result: Result<Response, any Error>) throws {
        guard var slot = slots[seq], slot.result == nil, let mapped = slot.mapped else { return }
        switch result {
        case .success(let response) where response.success:
            let tokens = (response.values ?? []).map(\.value)
            guard tokens.count == mapped.values.count, let bfid = response.bfid else {
                slot.result = RecordResult(
                    seq: seq, status: .rejected, messageId: response.messageId, errorCode: "answer-mismatch",
                    message: "the answer has \(tokens.count) values for \(mapped.values.count) sent", attempts: slot.attempts
                )
                break
            }
            slot.result = RecordResult(seq: seq, status: .done, bfid: bfid, messageId: response.messageId, tokens: tokens, attempts: slot.attempts)
        case .success(let response):
            let code = response.failure?.code
            if let code, code.isFatal {
                fatal = JobError(.fatalAnswer, "the service answered \(response.failure!): the job cannot go on")
                return
            }
            if let code, code.isTransient, slot.attempts < configuration.retry.maxAttempts {
                scheduleRetry(seq: seq, attempt: slot.attempts + 1)
                return
            }
            slot.result = RecordResult(
                seq: seq, status: .rejected, messageId: response.messageId, errorCode: code.map { String($0.rawValue) } ?? "unknown",
                message: MessageRedaction.redact(response.failure?.message ?? "the service answered success: false"), attempts: slot.attempts
            )
        case .failure(let error):
            let retryable = (error as? ShieldConexError)?.isRetryable ?? false
            if retryable, slot.attempts < configuration.retry.maxAttempts {
                scheduleRetry(seq: seq, attempt: slot.attempts + 1)
                return
            }
            slot.result = RecordResult(
                seq: seq, status: .rejected, errorCode: "client-error", message: MessageRedaction.redact("\(error)"), attempts: slot.attempts
            )
        }
        try store.record(slot.result!)
        slots[seq] = slot
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
        MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: wait) { sink.yield(.rateWake) }
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
        while let slot = slots[nextToWrite], let result = slot.result {
            switch result.status {
            case .done:
                line.removeAll(keepingCapacity: true)
                if let mapped = slot.mapped {
                    renderer.render(mapped, tokens: result.tokens, bfid: result.bfid ?? "", into: &line)
                    try output.write(line)
                }
                if result.bfid == nil { summary.passedThrough += 1 } else { summary.done += 1 }
            case .rejected:
                line.removeAll(keepingCapacity: true)
                rejectsRenderer.render(
                    record: slot.record.number, line: slot.record.position.line, id: identifier?.id(of: slot.record),
                    code: result.errorCode ?? "unknown", message: result.message ?? "", into: &line
                )
                try rejects.write(line)
                summary.rejectedByCode[result.errorCode ?? "unknown", default: 0] += 1
            case .outcomeUnknown:
                summary.outcomeUnknown += 1
            }
            lastWritten = (nextToWrite, slot.after)
            slots.removeValue(forKey: nextToWrite)
            nextToWrite += 1
            uncommitted += 1
            if uncommitted >= configuration.commitEvery || ContinuousClock.now - lastCommit >= configuration.commitInterval {
                try commit()
            }
        }
    }

    mutating func commit(complete: Bool = false) throws {
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
