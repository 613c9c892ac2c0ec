import ArgumentParser
import Checkpoint
import Foundation
import Logging
import Pipeline
import ShieldConex

/// Runs a tokenize, detokenize or read job from the command line: resolves the endpoint, turns
/// the options into a job, runs it with progress and signal handling, prints the summary, writes
/// the report and metrics files, and maps the outcome to an exit code.
struct JobRunner {
    var action: JobAction
    var options: JobOptions
    var job: JobConfiguration
    var store = false
    var omit = false
    var dedup = false
    var templateIdempotent = true
    /// A retokenize job's old template and the column that keeps each record's old bfid.
    var fromTemplate: String?
    var oldBfidColumn: String?

    func run() async throws {
        Console.masking = CardNumberMasking(pattern: job.cardNumberPattern)
        options.log.bootstrap()
        let logger = Logger(label: "batch-tokenize.\(action.rawValue)")
        let startedAt = Date()
        let (configuration, plan) = try await configure(logger: logger)
        let resolved = try await ResolvedEndpoint.resolve(endpoint: configuration.endpointName, credentials: options.credentials, logger: logger)
        var runnable = configuration
        runnable.endpoint = resolved.endpoint
        runnable.key = resolved.key
        if let plan, let shard = runnable.shard {
            // The plan's input, by content, and the shard's boundaries in it, before anything is
            // sent (the digests are keyed from the key).
            do {
                try plan.checkInput(path: runnable.inputPath, key: runnable.digestKey)
                try plan.checkBoundaries(of: shard.index, path: runnable.inputPath, key: runnable.digestKey)
            } catch {
                await resolved.shutdown()
                throw ValidationError("\(error)")
            }
        }
        let display = ProgressDisplay(
            mode: options.log.quiet ? .off : Console.isTerminal ? .terminal : .lines(interval: options.progressInterval),
            format: options.log.logFormat, action: action.rawValue
        )
        runnable.progress = { display.update($0) }
        let batchJob = BatchJob(configuration: runnable, logger: logger)
        let resume = "run the same command again: batch-tokenize "
            + CommandLine.arguments.dropFirst().filter { $0 != "--restart" }.map(Self.shellQuoted).joined(separator: " ")
        let signals = SignalInterruptions(resumeHint: resume, logger: logger)
        let result: Result<BatchJob.Outcome, any Error>
        do {
            result = .success(try await batchJob.run(interruptions: signals.stream))
        } catch {
            result = .failure(error)
        }
        var ending = JobEnding.of(result, rejectsPath: runnable.rejectsPath, checkpointPath: runnable.checkpointPath, resume: resume)
        // No part of the key, whatever the service echoed of it, in the ending, the log or the report.
        ending.message = ending.message.map { APIKey.redact(CommandLineHints.adding(to: $0), key: runnable.key) }
        await resolved.shutdown()
        display.finish()
        let report = makeReport(ending, configuration: runnable, job: batchJob, startedAt: startedAt)
        switch options.log.logFormat {
        case .text:
            if let summary = ending.summary {
                let compression = runnable.inputName == nil ? InputCompression.of(path: runnable.inputPath) : .none
                let input =
                    runnable.inputName.map { "input: standard input (\($0))\n" }
                    ?? (compression == .none ? "" : "input: \(runnable.inputPath) (\(compression.rawValue))\n")
                // A compressed file is named with its compression.
                func named(_ path: String) -> String {
                    OutputCompression.of(path: path) == .none ? path : "\(path) (\(OutputCompression.of(path: path).rawValue))"
                }
                Console.write("\(summary)\n\(input)output: \(named(runnable.outputPath))\nrejects: \(named(runnable.rejectsPath))\n"
                    + String(format: "peak memory: %.1f MiB", ProcessUsage.peakResidentMiB()))
            }
            if let message = ending.message { Console.write(message) }
        case .json:
            // One line for the whole ending, so that a log aggregator gets it as one event.
            let encoded = (try? JSONSerialization.jsonObject(with: report.json())) ?? [:]
            Console.write(MaskedLogHandler.jsonLine([
                "time": timestamp(), "level": ending.exitCode == .success ? "notice" : "error", "logger": "batch-tokenize.\(action.rawValue)",
                "message": ending.message ?? "finished", "report": encoded,
            ]), alreadyMasked: true)
        }
        try write(report)
        if ending.exitCode == ExitCodes.finishedWithRejects && options.succeedWithRejects { return }
        if ending.exitCode != .success { throw ending.exitCode }
    }

    /// The job's configuration from the options and the job file; usage errors are thrown here,
    /// before anything is connected.
    func configure(logger: Logger) async throws -> (BatchJob.Configuration, ShardPlan?) {
        // A shard of a plan: its input, format and delimiter are the plan's.
        var plan: ShardPlan?
        var shardIndex = 0
        if let planPath = options.plan {
            let read = try usage { try ShardPlan.read(path: planPath) }
            shardIndex = try usage { try read.shardIndex(option: options.shard, environment: ProcessInfo.processInfo.environment) }
            if let format = job.input?.format, format != read.input.format {
                throw ValidationError("the plan's input is \(read.input.format.rawValue), not \(format.rawValue)")
            }
            plan = read
        } else if options.shard != nil || options.ratePerShard != nil {
            throw ValidationError("--shard and --rate-per-shard go with --plan")
        }
        guard let inputPath = job.input?.path ?? plan?.input.path else { throw ValidationError("no input: give --input FILE or input.path in the job file") }
        let streamName = try StandardInputCheck.name(inputPath: inputPath, name: job.input?.name, format: job.input?.format, planned: plan != nil)
        // A table's rows are read as JSON objects (their columns by name).
        let isTable = PostgresSettings.isURL(inputPath)
        if isTable, let given = job.input?.format, given != .ndjson {
            throw ValidationError("a table's rows are read as JSON objects: --format \(given.rawValue) does not go with a database input")
        }
        if plan != nil, isTable != (plan?.input.table != nil) {
            throw ValidationError(isTable ? "the plan was made for a file, not a table" : "the plan was made for a table, not a file")
        }
        let format = isTable ? .ndjson : plan?.input.format ?? job.input?.format ?? InputFormat.guess(path: streamName ?? inputPath)
        let delimiter = try usage { try JobConfiguration.delimiterByte(plan?.input.delimiter ?? job.input?.delimiter) }
        guard let endpointName = options.endpoint ?? job.endpoint else { throw ValidationError("no endpoint: give --endpoint or endpoint in the job file") }
        guard let templateRef = options.templateRef ?? job.templateRef else { throw ValidationError("no template: give --template-ref or templateRef in the job file") }
        guard let jobOutput = options.output ?? job.output?.path else { throw ValidationError("no output: give --output FILE or output.path in the job file") }
        // A shard writes files of its own: every per-run file named after the shard, whether
        // derived from its output or given (shards run one after another or side by side must
        // not truncate each other's rejects, nor share a checkpoint, a report or a metrics file).
        let perShard = { (path: String) in plan == nil ? path : ShardPlan.shardPath(output: path, index: shardIndex) }
        // (Shards writing a table write the same table: their own files are named after it.)
        let outputPath = PostgresSettings.isURL(jobOutput) ? jobOutput : perShard(jobOutput)
        try OptionRange.check(options.connections, "--connections", 1...1_024)
        try OptionRange.check(options.inFlight, "--in-flight", 1...65_536)
        if options.connections * options.inFlight > 1 << 20 {
            throw ValidationError("--connections × --in-flight must be at most 1048576 (got \(options.connections * options.inFlight))")
        }
        let connectionsMax = options.connectionsMax ?? max(16, options.connections)
        let inFlightMax = options.inFlightMax ?? max(256, options.inFlight)
        try OptionRange.check(connectionsMax, "--connections-max", options.connections...1_024)
        try OptionRange.check(inFlightMax, "--in-flight-max", options.inFlight...65_536)
        if connectionsMax * inFlightMax > 1 << 20 {
            throw ValidationError("--connections-max × --in-flight-max must be at most 1048576 (got \(connectionsMax * inFlightMax))")
        }
        if let rate = options.rate { try OptionRange.check(rate, "--rate", 0.001...10_000_000, unit: " requests/s") }
        if let rate = options.ratePerShard { try OptionRange.check(rate, "--rate-per-shard", 0.001...10_000_000, unit: " requests/s") }
        if let burst = options.burst { try OptionRange.check(burst, "--burst", 1...10_000_000) }
        try OptionRange.check(options.stopDeadline, "--stop-deadline", 0...86_400, unit: " s")
        try OptionRange.check(options.progressInterval, "--progress-interval", 0.01...86_400, unit: " s")
        try OptionRange.check(options.retryFor, "--retry-for", 0...OptionRange.week, unit: " s")
        if omit && action != .tokenize { throw ValidationError("--omit is for tokenize jobs") }
        if action == .retokenize {
            guard fromTemplate != nil else { throw ValidationError("retokenize needs the old template: give --from-template or fromTemplateRef in the job file") }
            if store { throw ValidationError("--store is for tokenize jobs: a retokenize job writes the new tokens") }
            if isTable || PostgresSettings.isURL(jobOutput) { throw ValidationError("retokenize reads and writes files (CSV or NDJSON, compressed or piped), not tables") }
            // The tokens' places in a regex's source (the spans column) would be the old tokens'.
            if (job.instructions ?? []).contains(where: { $0.transformationType == .regex && $0.luhnCheck == true }) {
                throw ValidationError("retokenize does not go with a regex mapping that has luhnCheck (the places its tokens were written in are the old tokens')")
            }
        } else if fromTemplate != nil {
            throw ValidationError("--from-template is for retokenize jobs")
        }
        if dedup {
            guard action.tokenizes else { throw ValidationError("--dedup is for tokenize and retokenize jobs") }
            guard !store && !omit else {
                throw ValidationError(
                    "--dedup does not go with --store or --omit: a repeat would share its first record's bfid, and tokenization-read answers once per bfid"
                )
            }
            guard templateIdempotent else {
                throw ValidationError(
                    "--dedup needs a template that gives the same token for the same value; this one is marked as not (--template-not-idempotent or templateIdempotent: false)"
                )
            }
        }
        // An --omit job writes no tokens, so the spans of a regex's filtered matches would say
        // nothing a read job could take up.
        if omit, (job.instructions ?? []).contains(where: { $0.transformationType == .regex && $0.luhnCheck == true }) {
            throw ValidationError("--omit does not go with a regex mapping that has luhnCheck (its tokens' places could not be recorded)")
        }
        if isTable { _ = try usage { try TableInput.parse(inputPath, environment: ProcessInfo.processInfo.environment) } }
        guard streamName != nil || isTable || FileManager.default.isReadableFile(atPath: inputPath) else {
            throw ValidationError("cannot read the input file \(inputPath)")
        }
        // A table output has no file to name the run's own files after: they are named after the
        // table, in the working folder (`cards.rejects.csv`, `cards.checkpoint.sqlite`).
        let writesTable = PostgresSettings.isURL(outputPath)
        if writesTable && !isTable { throw ValidationError("a table output is written from a table input (--input postgresql://…?table=…&key=…)") }
        let localBase = writesTable ? perShard(try usage { try TableOutputNames.base(outputPath) }) : outputPath
        let endpoint: Endpoint
        do {
            // A placeholder for `local`: the embedded simulator's address is known once it runs.
            endpoint = try Endpoint(endpointName.lowercased() == "local" ? "ws://127.0.0.1:1" : endpointName)
        } catch {
            throw ValidationError("--endpoint: \(error)")
        }
        var configuration = BatchJob.Configuration(
            endpoint: endpoint, endpointName: endpointName.lowercased() == "local" ? "local" : endpointName, key: APIKey(""),
            templateRef: templateRef, inputPath: inputPath, format: format, instructions: isTable ? (job.instructions ?? []).map(Self.passingNulls) : job.instructions ?? [], outputPath: outputPath,
            rejectsPath: (options.rejects ?? job.output?.rejects).map(perShard) ?? localBase + ".rejects.csv",
            checkpointPath: options.checkpoint.map(perShard) ?? CheckpointStore.defaultPath(forOutput: localBase)
        )
        // Every file this run reads or writes is a file of its own (a shard's merged output
        // too: `merge` would write it over the input).
        try DistinctFiles.check([
            ("--input", streamName == nil ? inputPath : nil), ("--plan", options.plan), ("--config", options.config), ("--key-file", options.credentials.keyFile),
            ("--partner-key-file", options.credentials.partnerKeyFile), ("--ca-file", options.credentials.caFile),
            ("--output", writesTable ? nil : outputPath), ("the merged --output", plan == nil ? nil : jobOutput), ("--rejects", configuration.rejectsPath),
            ("--checkpoint", configuration.checkpointPath), ("--report", options.report.map(perShard)),
            ("--metrics-file", options.metricsFile.map(perShard)),
        ])
        configuration.action = action
        configuration.fromTemplateRef = fromTemplate
        if let oldBfidColumn { configuration.oldBfidColumn = oldBfidColumn }
        configuration.inputName = streamName
        configuration.delimiter = delimiter
        configuration.hasHeader = plan.map { $0.input.header ?? true } ?? job.input?.header ?? true
        configuration.idColumn = job.input?.idColumn
        configuration.bfidColumn = options.bfidColumn ?? job.output?.bfidColumn ?? "bfid"
        configuration.store = store
        configuration.omit = omit
        configuration.dedup = dedup
        configuration.allowRepeatedFields = options.allowRepeatedFields
        configuration.connections = options.connections
        configuration.inFlight = options.inFlight
        configuration.connectionsMax = options.fixedConcurrency ? options.connections : connectionsMax
        configuration.inFlightMax = options.fixedConcurrency ? options.inFlight : inFlightMax
        configuration.fixedConcurrency = options.fixedConcurrency
        // --rate is the whole job's: a shard takes its share, unless told its own.
        configuration.rate = options.ratePerShard ?? options.rate.map { $0 / Double(plan?.shards.count ?? 1) }
        configuration.shard = plan?.shards[shardIndex]
        configuration.shardCount = plan?.shards.count ?? 1
        configuration.shardEndOffset = plan?.endOffset(of: shardIndex)
        configuration.tablePlan = plan.flatMap { $0.input.table == nil ? nil : $0.input }
        configuration.burst = options.burst
        configuration.restart = options.restart
        if let commitEvery = options.commitEvery {
            try OptionRange.check(commitEvery, "--commit-every", 1...1_000_000)
            configuration.commitEvery = commitEvery
        }
        if options.sinceLastRun && !isTable { throw ValidationError("--since-last-run is for a table input (rows after the last run's key)") }
        if options.sinceLastRun && plan != nil {
            throw ValidationError("--since-last-run does not go with --plan: a nightly run reads on after its last key, a shard within its range; run the nightly job whole")
        }
        configuration.sinceLastRun = options.sinceLastRun
        configuration.keepAuditTrail = options.keepAuditTrail
        configuration.stopDeadline = .milliseconds(Int64(options.stopDeadline * 1000))
        configuration.retry.budget = .milliseconds(Int64(options.retryFor * 1000))
        configuration.connection = options.timing.connectionConfiguration(credentials: options.credentials)
        configuration.masking = Console.masking
        if action == .detokenize && !writesTable {
            // (A table's warning comes once its privileges are restricted: PlaintextTable.)
            logger.warning("\(outputPath) will hold cardholder data in plaintext (created with mode 0600); protect it and delete it when done")
        }
        return (configuration, plan)
    }

    /// A table's NULLs (and empty strings) pass through untouched, counted, unless the mapping
    /// says otherwise: a NULL is no card number, and a row without one is no error.
    static func passingNulls(_ instruction: Instruction) -> Instruction {
        var passing = instruction
        passing.skipEmpty = passing.skipEmpty ?? true
        return passing
    }

    /// What `--report` holds (and, with `--log-format json`, the last log line).
    func makeReport(_ ending: JobEnding, configuration: BatchJob.Configuration, job: BatchJob, startedAt: Date) -> JobReport {
        var identity = JobReport.Job(
            id: try? job.jobId(), action: action.rawValue, endpoint: configuration.endpointName, templateRef: configuration.templateRef,
            input: configuration.inputPath,
            inputBytes: (try? FileManager.default.attributesOfItem(atPath: configuration.inputPath)[.size] as? NSNumber)?.int64Value,
            format: configuration.format.rawValue, output: configuration.outputPath, rejects: configuration.rejectsPath,
            checkpoint: configuration.checkpointPath, connections: configuration.connections, inFlight: configuration.inFlight,
            rate: configuration.rate
        )
        // (A stream's compression is found as it is read: not said.)
        identity.inputCompression = configuration.inputName == nil && !PostgresSettings.isURL(configuration.inputPath)
            ? InputCompression.of(path: configuration.inputPath).rawValue : nil
        identity.inputName = configuration.inputName
        identity.fromTemplateRef = configuration.fromTemplateRef
        identity.outputCompression = OutputCompression.of(path: configuration.outputPath).rawValue
        identity.rejectsCompression = OutputCompression.of(path: configuration.rejectsPath).rawValue
        if let shard = configuration.shard {
            identity.shard = shard.index
            identity.shards = configuration.shardCount
            identity.jobRate = options.rate
        }
        return JobReport(
            tool: BatchTokenize.version, outcome: ending.outcome, exitCode: ending.exitCode.rawValue, message: ending.message,
            startedAt: timestamp(startedAt), finishedAt: timestamp(), job: identity, summary: ending.summary ?? JobSummary(),
            masking: Console.masking
        )
    }

    /// `--report` and `--metrics-file`, written for every ending (a cron job is watched by them).
    func write(_ report: JobReport) throws {
        // A shard's report and metrics are its own (``configure``): named after the shard.
        let perShard = { (path: String) in report.job.shard.map { ShardPlan.shardPath(output: path, index: $0) } ?? path }
        do {
            if let path = options.report.map(perShard) { try AtomicFile.write(try report.json(), to: path, mode: 0o600) }
            if let path = options.metricsFile.map(perShard) {
                let text = PrometheusMetrics.render(report, finishedAtUnixSeconds: Date().timeIntervalSince1970)
                // Readable by a metrics collector running as another user: numbers and ids only.
                try AtomicFile.write(Data(text.utf8), to: path, mode: 0o644)
            }
        } catch {
            Console.write("error: cannot write the report or metrics file: \(error)")
            throw ExitCodes.failure
        }
    }

    static func shellQuoted(_ argument: String) -> String {
        let safe = argument.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,@%+".contains($0) }
        return safe && !argument.isEmpty ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
