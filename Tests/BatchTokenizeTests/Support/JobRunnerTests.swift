import ArgumentParser
@testable import BatchTokenize
import Checkpoint
import Foundation
import Logging
import Pipeline
import Testing
import TestSupport

/// The command line's options turned into a job, and a job's outcome turned into an ending and
/// an exit status: in-process, with no binary launched and nothing connected.
@Suite struct JobRunnerTests {
    static func configure(_ arguments: [String], action: JobAction = .tokenize, omit: Bool = false) async throws -> (BatchJob.Configuration, ShardPlan?) {
        let options = try JobOptions.parse(arguments)
        let runner = JobRunner(action: action, options: options, job: try options.jobFile(), omit: omit)
        return try await runner.configure(logger: Logger(label: "test"))
    }

    static func arguments(_ folder: TestFolder, _ extra: [String] = []) throws -> [String] {
        let input = folder.path("cards.csv")
        if !FileManager.default.fileExists(atPath: input) { try CSVFiles.generate(rows: 3, to: input) }
        return ["--endpoint", "local", "--template-ref", TestRuns.template, "--input", input, "--output", folder.path("out.csv")]
            + TestRuns.mapping + extra
    }

    @Test func theDefaultsMakeAJobOfTheOptions() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let (configuration, plan) = try await Self.configure(try Self.arguments(folder))
        #expect(plan == nil)
        #expect(configuration.endpointName == "local" && configuration.templateRef == TestRuns.template)
        #expect(configuration.rejectsPath == folder.path("out.csv") + ".rejects.csv")
        #expect(configuration.checkpointPath == CheckpointStore.defaultPath(forOutput: folder.path("out.csv")))
        #expect(configuration.connections == 4 && configuration.inFlight == 64)
        #expect(configuration.connectionsMax == 16 && configuration.inFlightMax == 256 && !configuration.fixedConcurrency)
        #expect(configuration.instructions.map(\.fieldName) == ["card_number", "card_exp", "card_cvv"])
        #expect(configuration.retry.budget == .seconds(600) && configuration.stopDeadline == .seconds(10))
        #expect(!configuration.keepAuditTrail)
    }

    @Test func aFixedWindowIsItsOwnCeilingAndTheRateIsTheJobs() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let (configuration, _) = try await Self.configure(
            try Self.arguments(folder, ["--fixed-concurrency", "--connections", "2", "--in-flight", "8", "--rate", "100", "--keep-audit-trail"])
        )
        #expect(configuration.connectionsMax == 2 && configuration.inFlightMax == 8 && configuration.fixedConcurrency)
        #expect(configuration.rate == 100)
        #expect(configuration.keepAuditTrail)
    }

    /// Every usage mistake is refused before anything is connected, with what to do.
    @Test(arguments: [
        (["--shard", "1"], "--shard and --rate-per-shard go with --plan"),
        (["--connections", "0"], "--connections"),
        (["--connections", "1024", "--in-flight", "2048"], "at most 1048576"),
        (["--in-flight-max", "1"], "--in-flight-max"),
        (["--rate", "0"], "--rate"),
        (["--retry-for=-1"], "--retry-for"),
    ])
    func usageMistakesAreRefused(extra: [String], says: String) async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        await #expect {
            _ = try await Self.configure(try Self.arguments(folder, extra))
        } throws: { error in
            "\(error)".contains(says)
        }
    }

    @Test func theInputIsNeverTheOutputAndOmitIsForTokenizeJobs() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        var arguments = try Self.arguments(folder)
        arguments[arguments.firstIndex(of: "--output")! + 1] = folder.path("cards.csv")
        await #expect(throws: (any Error).self) { _ = try await Self.configure(arguments) }
        await #expect { _ = try await Self.configure(try Self.arguments(folder), action: .detokenize, omit: true) } throws: { error in
            "\(error)".contains("--omit is for tokenize jobs")
        }
        var missing = try Self.arguments(folder)
        missing[missing.firstIndex(of: "--input")! + 1] = folder.path("none.csv")
        await #expect { _ = try await Self.configure(missing) } throws: { error in "\(error)".contains("cannot read the input file") }
    }

    /// A job's outcome → its ending: exit status, report outcome and what the operator is told.
    @Test func everyOutcomeHasItsExitStatus() {
        var summary = JobSummary()
        summary.recordsRead = 3
        summary.done = 3
        func ending(_ result: Result<BatchJob.Outcome, any Error>) -> JobEnding {
            JobEnding.of(result, rejectsPath: "r.csv", checkpointPath: "c.sqlite", resume: "run the same command again")
        }
        #expect(ending(.success(.completed(summary))).exitCode == ExitCodes.success)
        #expect(ending(.success(.alreadyComplete)).outcome == .alreadyComplete)
        var rejected = summary
        rejected.done = 2
        rejected.countRejection(code: "1006", message: "Invalid value")
        let withRejects = ending(.success(.completed(rejected)))
        #expect(withRejects.exitCode == ExitCodes.finishedWithRejects && withRejects.message?.contains("r.csv") == true)
        var unbalanced = summary
        unbalanced.done = 1
        #expect(ending(.success(.completed(unbalanced))).exitCode == ExitCodes.failure)
        let cases: [(JobError.Kind, ExitCode, JobReport.Outcome)] = [
            (.configuration, ExitCodes.usage, .configurationError), (.connection, ExitCodes.connection, .unreachable),
            (.fatalAnswer, ExitCodes.refused, .refused), (.transient, ExitCodes.interrupted, .transientFailures),
            (.interrupted, ExitCodes.interrupted, .interrupted),
        ]
        for (kind, code, outcome) in cases {
            let end = ending(.failure(JobError(kind, "why")))
            #expect(end.exitCode == code && end.outcome == outcome, "\(kind)")
            if kind != .configuration { #expect(end.message?.contains("run the same command again") == true, "\(kind) says how to resume") }
        }
        let other = ending(.failure(CheckpointError("disk full")))
        #expect(other.exitCode == ExitCodes.failure && other.message?.contains("disk full") == true)
    }
}
