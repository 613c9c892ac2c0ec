import ArgumentParser
import Checkpoint
import Foundation
import Logging
import Pipeline
import ShieldConex

extension BatchTokenize {
    /// Tokenizes a file. For now only `--dry-run` is available: the engine is the next issue.
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Tokenize the mapped values of a CSV or NDJSON file; run it again to resume.",
            discussion: """
                Mapping: --map COLUMN=FIELD (CSV column or top-level NDJSON key) or --map '$.path=FIELD' \
                (NDJSON), optionally followed by :luhn,digits,skip-empty; or the instructions of a job \
                file (--config job.json, ORCA-shaped). Command-line options override the job file.
                """
        )

        @Option(help: "Input file (CSV or NDJSON).")
        var input: String?

        @Option(help: "Output file.")
        var output: String?

        @Option(help: "Input format: csv or ndjson (default: from the file name).")
        var format: InputFormat?

        @Option(help: "CSV delimiter: , tab | ;")
        var delimiter: String?

        @Option(name: .customLong("map"), help: "COLUMN=FIELD or '$.path=FIELD', optionally :luhn,digits,skip-empty (repeatable).")
        var maps: [String] = []

        @Option(help: "A job file (JSON, ORCA-shaped).")
        var config: String?

        @Option(help: "The template to tokenize with.")
        var templateRef: String?

        @Option(help: "A column or key that identifies records in the rejects file (never a sensitive one).")
        var idColumn: String?

        @Option(help: "Name of the bfid column (CSV) or key (NDJSON) added to the output.")
        var bfidColumn: String?

        @Option(help: "Rejects file (CSV: record, line, id, error code, message; never the values).")
        var rejects: String?

        @Flag(help: "Read and map the whole input without connecting; print what would be sent.")
        var dryRun = false

        @Option(help: "staging, cert, production, local (embedded simulator), or a ws:// or wss:// URL.")
        var endpoint: String?

        @Option(help: "Read the API key from this file (mode 0600) instead of SCX_API_KEY.")
        var keyFile: String?

        @Option(help: "A PEM file of extra CA certificates to trust for wss://.")
        var caFile: String?

        @Option(help: "Checkpoint file (default: <output>.checkpoint.sqlite).")
        var checkpoint: String?

        @Option(help: "WebSocket connections.")
        var connections = 4

        @Option(help: "Requests in flight per connection.")
        var inFlight = 64

        @Option(help: "Requests per second over all connections (default: no limit).")
        var rate: Double?

        @Option(help: "The largest burst under --rate (default: a tenth of a second's worth).")
        var burst: Double?

        @Flag(help: "Ask ShieldConex to store the bfid for a later tokenization-read.")
        var store = false

        @Flag(help: "Discard an existing checkpoint and start over.")
        var restart = false

        @Option(help: "Log level.")
        var logLevel: Logger.Level = .warning

        func run() async throws {
            var job = try usage { try config.map(JobConfiguration.load(path:)) } ?? JobConfiguration()
            if !maps.isEmpty {
                job.instructions = try usage { try maps.map { try Instruction(shortForm: $0) } }
            }
            var inputSettings = job.input ?? .init()
            if let input { inputSettings.path = input }
            if let format { inputSettings.format = format }
            if let delimiter { inputSettings.delimiter = delimiter }
            if let idColumn { inputSettings.idColumn = idColumn }
            guard let inputPath = inputSettings.path else { throw ValidationError("no input: give --input FILE or input.path in the job file") }
            let inputFormat = inputSettings.format ?? InputFormat.guess(path: inputPath)
            let delimiterByte = try usage { try JobConfiguration.delimiterByte(inputSettings.delimiter) }

            guard dryRun else {
                try await tokenize(job: job, inputPath: inputPath, format: inputFormat, delimiter: delimiterByte, idColumn: inputSettings.idColumn)
                return
            }
            let opened = try usage { try InputSource.open(path: inputPath, format: inputFormat, delimiter: delimiterByte) }
            let mapper = try usage { try FieldMapper(instructions: job.instructions ?? [], format: inputFormat, header: opened.header) }
            _ = try usage {
                try OutputRenderer(
                    format: inputFormat, header: opened.header, delimiter: delimiterByte,
                    bfidColumn: bfidColumn ?? job.output?.bfidColumn ?? "bfid"
                )
            }
            let identifier = try usage {
                try inputSettings.idColumn.map { try RecordIdentifier(idColumn: $0, format: inputFormat, header: opened.header) }
            }
            let rejectsFile = try (rejects ?? job.output?.rejects).map { path in
                let file = try OutputFile(path: path)
                try file.write(RejectsRenderer.headerLine)
                return file
            }
            var rejectLine: [UInt8] = []
            let renderer = RejectsRenderer()
            var reader = opened.reader
            var report = DryRunReport()
            while let record = try reader.next() {
                let outcome = mapper.map(record)
                report.count(outcome)
                if case .failure(let error) = outcome, let rejectsFile {
                    rejectLine.removeAll(keepingCapacity: true)
                    renderer.render(
                        record: record.number, line: record.position.line, id: identifier?.id(of: record),
                        code: error.code.rawValue, message: error.message, into: &rejectLine
                    )
                    try rejectsFile.write(rejectLine)
                }
            }
            try rejectsFile?.sync()
            print(report)
            print(String(format: "peak memory: %.1f MiB", ProcessUsage.peakResidentMiB()))
        }
    }
}

extension BatchTokenize.Run {
    func tokenize(job: JobConfiguration, inputPath: String, format: InputFormat, delimiter: UInt8, idColumn: String?) async throws {
        LoggingSetup.bootstrap(level: logLevel)
        let logger = Logger(label: "batch-tokenize.run")
        guard let endpointName = endpoint ?? job.endpoint else { throw ValidationError("no endpoint: give --endpoint or endpoint in the job file") }
        guard let templateRef = templateRef ?? job.templateRef else { throw ValidationError("no template: give --template-ref or templateRef in the job file") }
        guard let outputPath = output ?? job.output?.path else { throw ValidationError("no output: give --output FILE or output.path in the job file") }
        guard connections > 0, inFlight > 0 else { throw ValidationError("--connections and --in-flight must be positive") }
        if let rate, rate <= 0 { throw ValidationError("--rate must be positive") }
        if let burst, burst < 1 { throw ValidationError("--burst must be at least 1") }
        let resolved = try await ResolvedEndpoint.resolve(endpoint: endpointName, keyFile: keyFile, logger: logger)
        var configuration = TokenizeJob.Configuration(
            endpoint: resolved.endpoint, endpointName: endpointName.lowercased() == "local" ? "local" : endpointName, key: resolved.key,
            templateRef: templateRef, inputPath: inputPath, format: format, instructions: job.instructions ?? [], outputPath: outputPath,
            rejectsPath: rejects ?? job.output?.rejects ?? outputPath + ".rejects.csv",
            checkpointPath: checkpoint ?? CheckpointStore.defaultPath(forOutput: outputPath)
        )
        configuration.delimiter = delimiter
        configuration.idColumn = idColumn
        configuration.bfidColumn = bfidColumn ?? job.output?.bfidColumn ?? "bfid"
        configuration.store = store || (job.store ?? false)
        configuration.connections = connections
        configuration.inFlight = inFlight
        configuration.rate = rate
        configuration.burst = burst
        configuration.restart = restart
        configuration.connection.extraCAFile = caFile
        let outcome: TokenizeJob.Outcome
        do {
            outcome = try await TokenizeJob(configuration: configuration, logger: logger).run()
        } catch let error as JobError {
            await resolved.shutdown()
            if error.kind == .configuration { throw ValidationError(error.message) }
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            switch error.kind {
            case .configuration: throw ValidationError(error.message)
            case .connection: throw ExitCodes.connection
            case .fatalAnswer:
                FileHandle.standardError.write(Data("the checkpoint is kept: fix the cause and run the same command again to resume\n".utf8))
                throw ExitCodes.jobRefused
            }
        }
        await resolved.shutdown()
        switch outcome {
        case .alreadyComplete:
            print("the job is already complete (checkpoint \(configuration.checkpointPath)); nothing was sent. Use --restart to run it again.")
        case .completed(let summary):
            print(summary)
            print("output: \(outputPath)\nrejects: \(configuration.rejectsPath)")
            print(String(format: "peak memory: %.1f MiB", ProcessUsage.peakResidentMiB()))
            if !summary.balances { throw ExitCode.failure }
        }
    }
}

/// Runs `body`, turning any error into a usage error (exit status 64) with the same message:
/// bad options and unusable inputs are reported before anything is sent.
func usage<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ValidationError {
        throw error
    } catch {
        throw ValidationError("\(error)")
    }
}

extension InputFormat: ExpressibleByArgument {}
