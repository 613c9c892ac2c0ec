import ArgumentParser
import Checkpoint
import Foundation
import Logging
import Pipeline
import ShieldConex

/// Runs a tokenize, detokenize or read job from the command line: resolves the endpoint, turns
/// the options into a job, runs it with signal handling, and maps its outcome to an exit code.
struct JobRunner {
    var action: JobAction
    var options: JobOptions
    var job: JobConfiguration
    var store = false
    var omit = false

    func run() async throws {
        LoggingSetup.bootstrap(level: options.logLevel)
        let logger = Logger(label: "batch-tokenize.\(action.rawValue)")
        guard let inputPath = job.input?.path else { throw ValidationError("no input: give --input FILE or input.path in the job file") }
        let format = job.input?.format ?? InputFormat.guess(path: inputPath)
        let delimiter = try usage { try JobConfiguration.delimiterByte(job.input?.delimiter) }
        guard let endpointName = options.endpoint ?? job.endpoint else { throw ValidationError("no endpoint: give --endpoint or endpoint in the job file") }
        guard let templateRef = options.templateRef ?? job.templateRef else { throw ValidationError("no template: give --template-ref or templateRef in the job file") }
        guard let outputPath = options.output ?? job.output?.path else { throw ValidationError("no output: give --output FILE or output.path in the job file") }
        guard options.connections > 0, options.inFlight > 0 else { throw ValidationError("--connections and --in-flight must be positive") }
        if let rate = options.rate, rate <= 0 { throw ValidationError("--rate must be positive") }
        if let burst = options.burst, burst < 1 { throw ValidationError("--burst must be at least 1") }
        guard options.timeout > 0, options.heartbeatInterval > 0 else { throw ValidationError("--timeout and --heartbeat-interval must be positive") }
        guard options.stopDeadline >= 0 else { throw ValidationError("--stop-deadline must not be negative") }
        if omit && action != .tokenize { throw ValidationError("--omit is for tokenize jobs") }
        if omit && !store {
            FileHandle.standardError.write(Data("warning: --omit without --store: the tokens can never be read back\n".utf8))
        }
        let resolved = try await ResolvedEndpoint.resolve(endpoint: endpointName, keyFile: options.keyFile, logger: logger)
        var configuration = BatchJob.Configuration(
            endpoint: resolved.endpoint, endpointName: endpointName.lowercased() == "local" ? "local" : endpointName, key: resolved.key,
            templateRef: templateRef, inputPath: inputPath, format: format, instructions: job.instructions ?? [], outputPath: outputPath,
            rejectsPath: options.rejects ?? job.output?.rejects ?? outputPath + ".rejects.csv",
            checkpointPath: options.checkpoint ?? CheckpointStore.defaultPath(forOutput: outputPath)
        )
        configuration.action = action
        configuration.delimiter = delimiter
        configuration.idColumn = job.input?.idColumn
        configuration.bfidColumn = options.bfidColumn ?? job.output?.bfidColumn ?? "bfid"
        configuration.store = store
        configuration.omit = omit
        configuration.connections = options.connections
        configuration.inFlight = options.inFlight
        configuration.rate = options.rate
        configuration.burst = options.burst
        configuration.restart = options.restart
        configuration.stopDeadline = .milliseconds(Int64(options.stopDeadline * 1000))
        configuration.connection.extraCAFile = options.caFile
        configuration.connection.requestTimeout = .milliseconds(Int64(options.timeout * 1000))
        configuration.connection.heartbeatInterval = .milliseconds(Int64(options.heartbeatInterval * 1000))
        if action == .detokenize {
            FileHandle.standardError.write(Data("warning: \(outputPath) will hold cardholder data in plaintext (created with mode 0600); protect it and delete it when done\n".utf8))
        }
        let resume = "run the same command again: batch-tokenize "
            + CommandLine.arguments.dropFirst().filter { $0 != "--restart" }.map(Self.shellQuoted).joined(separator: " ")
        let signals = SignalInterruptions(resumeHint: resume)
        let outcome: BatchJob.Outcome
        do {
            outcome = try await BatchJob(configuration: configuration, logger: logger).run(interruptions: signals.stream)
        } catch let error as JobError {
            await resolved.shutdown()
            switch error.kind {
            case .configuration: throw ValidationError(error.message)
            case .connection:
                FileHandle.standardError.write(Data("error: \(error)\nthe checkpoint is kept: once the service can be reached, \(resume)\n".utf8))
                throw ExitCodes.connection
            case .fatalAnswer:
                FileHandle.standardError.write(Data("error: \(error)\nthe checkpoint is kept: fix the cause, then \(resume)\n".utf8))
                throw ExitCodes.jobRefused
            case .interrupted:
                FileHandle.standardError.write(Data("\(error)\nto resume, \(resume)\n".utf8))
                throw ExitCodes.interrupted
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

    static func shellQuoted(_ argument: String) -> String {
        let safe = argument.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,@%+".contains($0) }
        return safe && !argument.isEmpty ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
