import Checkpoint
import Foundation
import Logging
import ShieldConex

/// Runs a file through the service, one request per record (tokenize, detokenize or read):
/// reads records in order, maps them, sends them over a pool of pipelined connections, records
/// every answer in the checkpoint, and writes the output in input order. Run it again after any
/// failure and it resumes from the checkpoint.
public struct BatchJob: Sendable {
    public struct Configuration: Sendable {
        public var action: JobAction = .tokenize
        public var endpoint: Endpoint
        /// The name recorded in the checkpoint (`local`, `cert`, a URL), never the key.
        public var endpointName: String
        public var key: APIKey
        public var templateRef: String
        /// A retokenize job's old template (`--from-template`): its tokens are detokenized under
        /// it, then tokenized under ``templateRef``.
        public var fromTemplateRef: String?
        /// A retokenize job's output column (key) that keeps each record's old bfid, for the
        /// audit trail; the bfid column gets the new one.
        public var oldBfidColumn = "old_bfid"
        /// A file, or `-`: standard input, read as a stream (``inputName`` names it).
        public var inputPath: String
        /// What the operator calls a streamed input (`--input-name`): with the format and the
        /// mapping, the job's identity (a stream has no path to be recognised by).
        public var inputName: String?
        public var format: InputFormat
        public var delimiter: UInt8 = UInt8(ascii: ",")
        /// CSV: whether the first row is a header (``JobConfiguration/Input/header``).
        public var hasHeader = true
        public var instructions: [Instruction]
        public var outputPath: String
        public var rejectsPath: String
        public var checkpointPath: String
        public var idColumn: String?
        /// Tokenize: the column or key added to the output. Detokenize and read: where the bfid is read.
        public var bfidColumn = "bfid"
        public var store = false
        /// Tokenize with `omit: true`: the service returns no tokens (read them later with a read job);
        /// the mapped values are written empty.
        public var omit = false
        /// Send a record's several regex matches of one field in one request, the field name
        /// repeated. Off by default: the documents never say a name may repeat, and a strict
        /// service refuses the whole record (1004); by default the k-th match of each field goes
        /// in the k-th request, and the bfid column holds the record's bfids separated by spaces.
        public var allowRepeatedFields = false
        /// Tokenize each distinct record's values once (`--dedup`): a record whose mapped values
        /// are all an earlier record's takes that record's tokens and bfid instead of a request
        /// (the service's tokens are idempotent per value and template). Not in the identity: a
        /// run with it and one without give the same tokens.
        public var dedup = false
        /// Connections at the start; the window's controller opens more, up to ``connectionsMax``.
        public var connections = 4
        /// The most connections the controller opens.
        public var connectionsMax = 16
        /// The key of the checkpoint's digests of card data, from the API key (fixed for `local`).
        public var digestKey: DigestKey {
            endpointName == "local" ? .local : DigestKey(secret: key.authorizationHeader)
        }
        /// Requests in flight per connection at the start: the window starts at
        /// `connections × inFlight` (``ConcurrencyController``).
        public var inFlight = 64
        /// The most requests in flight on one connection; the window never exceeds
        /// `connectionsMax × inFlightMax`.
        public var inFlightMax = 256
        /// The window stays at `connections × inFlight` (no controller).
        public var fixedConcurrency = false
        /// Requests per second over all connections (and across reconnects); `nil` for no limit.
        public var rate: Double?
        /// The largest burst the rate limit allows. Default: a tenth of a second's worth.
        public var burst: Double?
        /// Lower the send rate when the service throttles (1429), and raise it when it stops.
        public var adaptiveRate = true
        public var restart = false
        /// A table job that finished before reads on after its last committed key (not in the identity).
        public var sinceLastRun = false
        /// Keep every committed record's result in the checkpoint (status, error code, bfid,
        /// messageId; never tokens) instead of folding it into the tally.
        public var keepAuditTrail = false
        public var retry = RetryPolicy()
        public var connection = ConnectionConfiguration()
        /// Commit the output every this many records ...
        public var commitEvery = 5_000
        /// ... or this often, whichever comes first.
        public var commitInterval: Duration = .milliseconds(500)
        /// After an interruption, how long requests in flight may take to answer before they are abandoned.
        public var stopDeadline: Duration = .seconds(10)
        /// Masks card numbers in the messages kept in the checkpoint and the rejects file.
        public var masking = CardNumberMasking()
        /// Called about four times a second while records are sent, from the job's task.
        public var progress: (@Sendable (JobProgress) -> Void)?
        /// The shard of a plan this run processes (``ShardPlan``), and how many the plan has: the
        /// records from its first to its last, numbered as in the whole input; `nil` for all.
        public var shard: ShardPlan.Shard?
        public var shardCount = 1
        /// Where the next shard's records start (``ShardPlan/endOffset(of:)``); `nil`: the input
        /// ends after this shard's.
        public var shardEndOffset: Int64?
        /// A shard of a table's plan: the keyed digests of the table the plan was cut from (its
        /// place and its definition), checked against the table before a row is read.
        public var tablePlan: ShardPlan.Input?
        /// The shard this run processes, when it ends at a record count (a file's shard); a
        /// table's shard ends at its last key, however many rows its range holds by then.
        public var shardEndingByCount: ShardPlan.Shard? { tablePlan == nil ? shard : nil }

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
        var options = [
            "format": configuration.format.rawValue, "delimiter": String(UnicodeScalar(configuration.delimiter)),
            "bfidColumn": configuration.bfidColumn, "store": String(configuration.store),
            "idColumn": configuration.idColumn ?? "",
        ]
        if configuration.omit { options["omit"] = "true" }
        if configuration.action == .retokenize {
            options["fromTemplate"] = configuration.fromTemplateRef ?? ""
            options["oldBfidColumn"] = configuration.oldBfidColumn
        }
        if !configuration.hasHeader && configuration.format == .csv { options["header"] = "none" }
        // The output gains the spans column (a regex instruction with luhnCheck).
        if configuration.action == .tokenize, configuration.instructions.contains(where: { $0.transformationType == .regex && $0.luhnCheck == true }) {
            options["spans"] = FieldMapper.spansColumn(bfidColumn: configuration.bfidColumn)
        }
        if configuration.allowRepeatedFields { options["allowRepeatedFields"] = "true" }
        // A resume writes on in the compression the files began with (their names choose it).
        for (name, path) in [("outputCompression", configuration.outputPath), ("rejectsCompression", configuration.rejectsPath)]
        where OutputCompression.of(path: path) != .none {
            options[name] = OutputCompression.of(path: path).rawValue
        }
        if PostgresSettings.isURL(configuration.outputPath) {
            // The job's row in the destination's progress table is its id: another destination is another job.
            options["outputTable"] = try TableOutputNames.base(configuration.outputPath)
        }
        if let shard = configuration.shard {
            // A shard's checkpoint is refused for another shard or another cut of the input.
            options["shard"] = ShardMerge.shardOption(shard, of: configuration.shardCount, table: configuration.tablePlan != nil)
        }
        let fingerprint: InputFingerprint
        if configuration.inputPath == InputSource.standardInput {
            // A stream: known by its name (each point stores a digest of the bytes before it).
            let name = configuration.inputName ?? ""
            options["inputName"] = name
            fingerprint = InputFingerprint(size: -1, modified: 0, digest: "stream:" + configuration.digestKey.hexDigest([Array(name.utf8)]))
        } else if PostgresSettings.isURL(configuration.inputPath) {
            // A table: known by where it is (server, database, table, key), not by its rows, which
            // change between runs (each point stores the key to read on from).
            fingerprint = try TableInput.parse(configuration.inputPath, environment: ProcessInfo.processInfo.environment).fingerprint(key: configuration.digestKey)
        } else {
            fingerprint = try InputFingerprint.of(path: configuration.inputPath, key: configuration.digestKey)
        }
        return JobIdentity(
            action: configuration.action.rawValue, endpoint: configuration.endpointName, templateRef: configuration.templateRef,
            inputPath: configuration.inputPath, input: fingerprint, mapping: mapping, options: options
        )
    }

    /// A job resumed under the other name of its output (`x` for `x.gz`, or the other way) would
    /// start over, with a checkpoint of its own, beside the unfinished one: refused, naming both.
    /// (With `--checkpoint` given, the checkpoint's identity tells them apart.)
    private func refuseTheOtherCompressionsCheckpoint(_ identity: JobIdentity) throws {
        let output = configuration.outputPath
        guard !configuration.restart, configuration.checkpointPath == CheckpointStore.defaultPath(forOutput: output),
            !FileManager.default.fileExists(atPath: configuration.checkpointPath)
        else { return }
        let other = output.hasSuffix(".gz") ? String(output.dropLast(3)) : output + ".gz"
        let otherCheckpoint = CheckpointStore.defaultPath(forOutput: other)
        guard FileManager.default.fileExists(atPath: otherCheckpoint), let summary = try? CheckpointStore.summary(path: otherCheckpoint), !summary.complete
        else { return }
        var same = summary.identity
        same.options["outputCompression"] = identity.options["outputCompression"]
        same.options["rejectsCompression"] = identity.options["rejectsCompression"]
        same.endpoint = identity.endpoint
        guard same == identity else { return }
        throw CheckpointError(
            .otherJob,
            "this job was begun with --output \(other) (its checkpoint \(otherCheckpoint) is not complete); the output's compression follows its name (.gz: gzip): "
                + "to resume it, give --output \(other) again; to start over into \(output) instead, run with --restart (the other checkpoint is left as it is)"
        )
    }

    /// The short id sent in every reference, `<job id>:<seq>`; the same across resumes.
    public func jobId() throws -> String {
        try Self.jobId(of: identity())
    }

    /// Runs the job. A value arriving on `interruptions` stops it gracefully: no more records
    /// are read, requests in flight get `stopDeadline` to answer, what is finished is committed,
    /// and the job throws ``JobError/Kind/interrupted``.
    public func run(interruptions: AsyncStream<Void>? = nil) async throws -> Outcome {
        let store: CheckpointStore
        let identity: JobIdentity
        do {
            identity = try self.identity()
            try refuseTheOtherCompressionsCheckpoint(identity)
            var settings = CheckpointStore.Configuration()
            settings.keepsAuditTrail = configuration.keepAuditTrail
            settings.remembersValues = configuration.dedup && configuration.action.tokenizes
            store = try CheckpointStore(path: configuration.checkpointPath, identity: identity, restart: configuration.restart, configuration: settings)
        } catch let error as CheckpointError {
            throw JobError(.configuration, error.description)
        }
        if store.isComplete && configuration.sinceLastRun {
            // The nightly form: the finished job goes on after its last key.
            try store.reopen()
        }
        if store.isComplete {
            // Complete, but only if what it finished is still there: a deleted or cut output is
            // not "nothing to do".
            if let point = store.commitPoint {
                let problems = [
                    PostgresSettings.isURL(configuration.outputPath)
                        ? nil : OutputFile.problem(atPath: configuration.outputPath, committed: point.outputOffset, expected: try store.fileIdentity("output")),
                    OutputFile.problem(atPath: configuration.rejectsPath, committed: point.rejectsOffset, expected: try store.fileIdentity("rejects")),
                ].compactMap { $0 }
                if !problems.isEmpty {
                    throw JobError(
                        .configuration,
                        "the job is complete (checkpoint \(configuration.checkpointPath)), but " + problems.joined(separator: "; ")
                            + ": nothing was sent. To write the output again, run the same command with --restart (every record is sent again)"
                    )
                }
            }
            return .alreadyComplete
        }
        do {
            return .completed(
                try await EngineWiring.run(configuration: configuration, store: store, jobId: Self.jobId(of: identity), logger: logger, interruptions: interruptions)
            )
        } catch let error as JobError where error.kind == .configuration && store.isNew && store.commitPoint == nil {
            // A checkpoint this run created for a job that could not start (a mapping that does
            // not fit the input): gone, so that the corrected command is not "another job".
            CheckpointStore.remove(path: configuration.checkpointPath)
            throw error
        }
    }

    /// A short id derived from the job identity (less the endpoint): the same across resumes,
    /// so the `reference` sent with a record (`<job id>:<seq>`) is the same every time that
    /// record is sent.
    static func jobId(of identity: JobIdentity) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var anywhere = identity
        anywhere.endpoint = ""
        // Nor the shard: a record sent by any shard has the reference a single run would give it.
        anywhere.options["shard"] = nil
        // Nor how the files are compressed.
        anywhere.options["outputCompression"] = nil
        anywhere.options["rejectsCompression"] = nil
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in try encoder.encode(anywhere) {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return String(hash, radix: 16).leftPadded(to: 16).prefix(12).description
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
