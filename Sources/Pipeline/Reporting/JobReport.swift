import Foundation

/// The machine-readable end of a job (`--report FILE.json`): how it ended, what it did, and which
/// job it was. Holds no key and no record value; every text in it is masked.
public struct JobReport: Sendable, Hashable, Codable {
    /// How the job ended; each has its own exit status.
    public enum Outcome: String, Sendable, Hashable, Codable {
        case completed
        case completedWithRejects = "completed-with-rejects"
        case alreadyComplete = "already-complete"
        case interrupted
        /// Records still failing transiently when their retry budget ran out: run again.
        case transientFailures = "transient-failures"
        case refused
        case unreachable
        case configurationError = "configuration-error"
        case failed
    }

    /// Which job: enough to find it again, never the key or a value.
    public struct Job: Sendable, Hashable, Codable {
        public var id: String?
        public var action: String
        public var endpoint: String
        public var templateRef: String
        /// A retokenize job's old template.
        public var fromTemplateRef: String?
        public var input: String
        public var inputBytes: Int64?
        /// `gzip` or `none`, told by the input's first bytes.
        public var inputCompression: String?
        /// `--input-name` of a job reading standard input (its `input` is `-`).
        public var inputName: String?
        public var format: String
        public var output: String
        public var rejects: String
        /// `gzip` or `none`, chosen by the files' names (`.gz`).
        public var outputCompression: String?
        public var rejectsCompression: String?
        public var checkpoint: String
        public var connections: Int
        public var inFlight: Int
        public var rate: Double?
        /// A sharded run: its shard, the plan's number of shards, and the whole job's rate
        /// (`rate` is this shard's).
        public var shard: Int?
        public var shards: Int?
        public var jobRate: Double?

        public init(
            id: String?, action: String, endpoint: String, templateRef: String, input: String, inputBytes: Int64?, format: String,
            output: String, rejects: String, checkpoint: String, connections: Int, inFlight: Int, rate: Double?
        ) {
            self.id = id
            self.action = action
            self.endpoint = endpoint
            self.templateRef = templateRef
            self.input = input
            self.inputBytes = inputBytes
            self.format = format
            self.output = output
            self.rejects = rejects
            self.checkpoint = checkpoint
            self.connections = connections
            self.inFlight = inFlight
            self.rate = rate
        }
    }

    public struct Records: Sendable, Hashable, Codable {
        /// Finished by earlier runs of a resumed job; `read` counts this run's records only.
        public var finishedByEarlierRuns: Int
        public var read: Int
        public var done: Int
        public var passedThrough: Int
        public var rejected: Int
        public var outcomeUnknown: Int
        /// Still failing transiently when their retry budget ran out; sent again by the next run.
        public var transient: Int
        /// Read but not finished when the run stopped early; read again on resume.
        public var unfinished: Int
        public var reusedFromCheckpoint: Int
        /// Repeats that took an earlier record's tokens and bfid, not sent (`--dedup`).
        public var deduplicated: Int = 0
        /// A retokenize job's records whose detokenize (under the old template) was answered.
        public var detokenizedToRetokenize: Int?
    }

    public struct Requests: Sendable, Hashable, Codable {
        public var sent: Int
        public var retries: Int
        public var reconnects: Int
        /// Transient answers (8001, 1429, timeouts, lost connections), each retried.
        public var transientAnswers: Int
        /// The old name of ``transientAnswers``, kept in the report for one release so that
        /// dashboards reading it go on working; read `transientAnswers`.
        public var throttled: Int
        public var lowestRate: Double?
    }

    public struct Rejection: Sendable, Hashable, Codable {
        public var reason: String
        public var count: Int
    }

    public var tool: String
    public var outcome: Outcome
    public var exitCode: Int32
    public var message: String?
    public var startedAt: String
    public var finishedAt: String
    public var job: Job
    public var records: Records
    public var rejectedByCode: [String: Int]
    public var rejectedByReason: [Rejection]
    public var requests: Requests
    public var seconds: Double
    public var recordsPerSecond: Double
    public var latencyMilliseconds: LatencySummary?
    /// How the window of requests in flight moved (``WindowSummary``).
    public var window: WindowSummary?

    public init(
        tool: String, outcome: Outcome, exitCode: Int32, message: String?, startedAt: String, finishedAt: String, job: Job,
        summary: JobSummary, masking: CardNumberMasking
    ) {
        self.tool = tool
        self.outcome = outcome
        self.exitCode = exitCode
        self.message = message.map(masking.mask)
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        var job = job
        job.endpoint = masking.mask(job.endpoint)
        job.templateRef = masking.mask(job.templateRef)
        job.fromTemplateRef = job.fromTemplateRef.map(masking.mask)
        job.input = masking.mask(job.input)
        job.output = masking.mask(job.output)
        job.rejects = masking.mask(job.rejects)
        job.checkpoint = masking.mask(job.checkpoint)
        self.job = job
        records = Records(
            finishedByEarlierRuns: summary.finishedBefore, read: summary.recordsRead, done: summary.done, passedThrough: summary.passedThrough, rejected: summary.rejected,
            outcomeUnknown: summary.outcomeUnknown, transient: summary.transient, unfinished: summary.unfinished, reusedFromCheckpoint: summary.reusedFromCheckpoint,
            deduplicated: summary.deduplicated, detokenizedToRetokenize: job.action == "retokenize" ? summary.detokenizedToRetokenize : nil
        )
        rejectedByCode = summary.rejectedByCode
        rejectedByReason = summary.rejectedByReason
            .map { Rejection(reason: masking.mask($0.key), count: $0.value) }
            .sorted { ($0.count, $1.reason) > ($1.count, $0.reason) }
        requests = Requests(
            sent: summary.requestsSent, retries: summary.retries, reconnects: summary.reconnects,
            transientAnswers: summary.transientAnswers, throttled: summary.transientAnswers,
            lowestRate: summary.lowestRate
        )
        // Rounded: figures, not long digit runs (which would read like card numbers to a scanner).
        seconds = (summary.seconds * 1000).rounded() / 1000
        recordsPerSecond = (summary.recordsPerSecond * 10).rounded() / 10
        latencyMilliseconds = summary.latency
        window = summary.window
        requests.lowestRate = summary.lowestRate.map { $0.rounded() }
    }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(UInt8(ascii: "\n"))
        return data
    }
}
