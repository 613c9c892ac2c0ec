import Checkpoint
import Foundation
import Pipeline
import Testing
import TestSupport

/// Signals, kills, throttling and idle timeouts: every run ends with a complete, ordered output.
@Suite(.serialized) struct ResilienceTests {
    typealias Folder = TokenizeRunTests.Folder
    typealias SimulatorProcess = TokenizeRunTests.SimulatorProcess
    static let template = "438ac8afecdd8035a21c126ee1fe6c19"
    static let mapping = ["--map", "card_number=card_number", "--map", "card_exp=card_exp", "--map", "card_cvv=card_cvv"]

    /// Starts `batch-tokenize` with `arguments`; stderr is readable through the returned pipe.
    static func start(_ arguments: [String]) throws -> (process: Process, stderr: Pipe) {
        let process = BinaryLauncher.process(arguments, environment: ["SCX_API_KEY": TokenizeRunTests.key])
        let stderr = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderr
        try process.run()
        return (process, stderr)
    }

    /// Reads `pipe` until a line containing `text` has arrived (or the pipe ends); returns all read.
    static func read(_ pipe: Pipe, until text: String) -> String {
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains(text) {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
        }
        return String(decoding: seen, as: UTF8.self)
    }

    /// Waits until the run has committed at least `seq` (the moment is chosen by the run's progress).
    static func waitForCommit(_ checkpoint: String, atLeast seq: Int, while process: Process) {
        while process.isRunning {
            if let summary = try? CheckpointStore.summary(path: checkpoint), (summary.commitPoint?.seq ?? -1) >= seq { return }
            usleep(2_000)
        }
    }

    @Test func sigtermCommitsWhatIsFinishedAndTheRunResumes() throws {
        let folder = try Folder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try LargeInputTests.generate(rows: 20_000, to: input)
        let simulator = try SimulatorProcess(["--latency-ms", "1"])
        defer { _ = simulator.stop() }
        let output = folder.path("out.csv")
        let arguments = ["run", "--endpoint", simulator.url, "--input", input, "--output", output, "--template-ref", Self.template, "--rate", "2500"]
            + Self.mapping
        let checkpoint = CheckpointStore.defaultPath(forOutput: output)
        let (process, stderr) = try Self.start(arguments)
        Self.waitForCommit(checkpoint, atLeast: 2_000, while: process)
        #expect(process.isRunning, "the run was stopped before it finished")
        process.terminate()
        let messages = Self.read(stderr, until: "to resume")
        process.waitUntilExit()
        #expect(process.terminationStatus == 75, "\(messages)")
        #expect(messages.contains("run the same command again: batch-tokenize run --endpoint"))
        // The summary of a stopped run counts the records read but not finished.
        #expect(messages.contains("the books balance: read"), "\(messages)")
        // What was finished is committed: the output ends where the checkpoint says.
        let summary = try CheckpointStore.summary(path: checkpoint)
        let point = try #require(summary.commitPoint)
        #expect(point.seq >= 2_000 && point.seq < 19_999)
        let size = try #require(FileManager.default.attributesOfItem(atPath: output)[.size] as? Int)
        #expect(Int64(size) == point.outputOffset)

        let resumed = try CommandLineTests.run(arguments, environment: ["SCX_API_KEY": TokenizeRunTests.key])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("results reused from the checkpoint"))
        #expect(resumed.stderr.contains("records finished by earlier runs (resumed after them): \(point.seq + 1)\nrecords read: \(20_000 - point.seq - 1)"))
        _ = try TokenizeRunTests.checkOutput(input: input, output: output, expectedRows: 20_000)
    }

    @Test func aSecondSignalExitsAtOnceAndTheRunStillResumes() throws {
        let folder = try Folder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try LargeInputTests.generate(rows: 1_000, to: input)
        // Answers take 1 s: the first signal's graceful stop is still waiting when the second comes.
        let simulator = try SimulatorProcess(["--latency-ms", "1000"])
        defer { _ = simulator.stop() }
        let output = folder.path("out.csv")
        let arguments = ["run", "--endpoint", simulator.url, "--input", input, "--output", output, "--template-ref", Self.template] + Self.mapping
        let (process, stderr) = try Self.start(arguments)
        while process.isRunning && !FileManager.default.fileExists(atPath: output) { usleep(2_000) }
        process.interrupt()
        var messages = Self.read(stderr, until: "a second signal exits at once")
        process.interrupt()
        messages += Self.read(stderr, until: "stopped at once")
        process.waitUntilExit()
        #expect(process.terminationStatus == 75, "\(messages)")
        #expect(messages.contains("To resume: run the same command again"))

        let resumed = try CommandLineTests.run(arguments, environment: ["SCX_API_KEY": TokenizeRunTests.key])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        _ = try TokenizeRunTests.checkOutput(input: input, output: output, expectedRows: 1_000)
    }

    /// Ten SIGKILLs at moments chosen by the run's progress over 100,000 records: the final
    /// output is byte for byte the output of an uninterrupted run, and the requests sent again
    /// stay within the kills times the window of requests whose results were not yet durable
    /// (a fixed window here, so that the bound is known before the run).
    @Test func tenKillsGiveTheSameBytesAsAnUninterruptedRun() throws {
        let folder = try Folder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try LargeInputTests.generate(rows: 100_000, to: input)
        let connections = 4
        let inFlight = 32
        func arguments(_ simulator: SimulatorProcess, _ output: String) -> [String] {
            ["run", "--endpoint", simulator.url, "--input", input, "--output", output, "--template-ref", Self.template,
             "--connections", "\(connections)", "--in-flight", "\(inFlight)", "--fixed-concurrency"] + Self.mapping
        }
        // bfids normally differ per request; --deterministic-ids makes a re-sent request get the same one.
        let reference = try SimulatorProcess(["--deterministic-ids"])
        let straight = folder.path("straight.csv")
        let uninterrupted = try CommandLineTests.run(arguments(reference, straight), environment: ["SCX_API_KEY": TokenizeRunTests.key])
        #expect(uninterrupted.status == 0, "\(uninterrupted.stderr)")
        #expect(JobKindsTests.counter("tokenization-tokenize", in: reference.stop()) == 100_000)

        let simulator = try SimulatorProcess(["--deterministic-ids"])
        let output = folder.path("killed.csv")
        let checkpoint = CheckpointStore.defaultPath(forOutput: output)
        var kills = 0
        var lastCommitted = -1
        while kills < 10 {
            let (process, _) = try Self.start(arguments(simulator, output))
            Self.waitForCommit(checkpoint, atLeast: lastCommitted + Int.random(in: 1...8_000), while: process)
            guard process.isRunning else { break }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            kills += 1
            lastCommitted = (try CheckpointStore.summary(path: checkpoint)).commitPoint?.seq ?? -1
        }
        #expect(kills == 10)
        let final = try CommandLineTests.run(arguments(simulator, output), environment: ["SCX_API_KEY": TokenizeRunTests.key])
        #expect(final.status == 0, "\(final.stderr)")
        #expect(FileManager.default.contents(atPath: output) == FileManager.default.contents(atPath: straight), "byte-identical output")
        #expect(FileManager.default.contents(atPath: output + ".rejects.csv") == FileManager.default.contents(atPath: straight + ".rejects.csv"))
        let sent = JobKindsTests.counter("tokenization-tokenize", in: simulator.stop())
        #expect(sent >= 100_000 && sent - 100_000 <= kills * connections * inFlight, "sent \(sent) for 100,000 records and \(kills) kills")
    }

    /// The service allows less than the client asks for: the client lowers its rate (AIMD) and
    /// the job completes.
    @Test func aRateLimitBelowTheRequestedRateLowersTheSendRate() throws {
        let folder = try Folder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try LargeInputTests.generate(rows: 20_000, to: input)
        let simulator = try SimulatorProcess(["--rate-limit", "1000"])
        let output = folder.path("out.csv")
        let outcome = try TokenizeRunTests.tokenize(
            ["--input", input, "--output", output, "--template-ref", Self.template, "--rate", "2000"] + Self.mapping, simulator: simulator
        )
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("done: 20000"))
        #expect(outcome.stderr.contains("send rate lowered to"), "\(outcome.stderr)")
        _ = try TokenizeRunTests.checkOutput(input: input, output: output, expectedRows: 20_000)
        let counters = simulator.stop()
        let throttled = JobKindsTests.counter("1429", in: counters)
        #expect(throttled > 0 && throttled < 4_000, "throttled \(throttled) of 20,000")
    }

    /// Connections that the rate limit leaves idle for longer than the service's idle timeout
    /// (32 connections for 500 requests a second, each answered in about a millisecond: the
    /// least loaded connection is chosen, lowest first on a tie, so the last ones wait for the
    /// whole 6-second run) are kept alive by heartbeats: nothing is closed, nothing reconnects.
    /// The idle timeout (2 s) leaves 1.75 s for a heartbeat due every 0.25 s, so a busy machine
    /// that runs timers late does not fail the test.
    @Test func heartbeatsOutlastAnIdleTimeoutShorterThanTheGaps() throws {
        let folder = try Folder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try LargeInputTests.generate(rows: 3_000, to: input)
        let simulator = try SimulatorProcess(["--idle-timeout", "2"])
        let output = folder.path("out.csv")
        let outcome = try TokenizeRunTests.tokenize(
            ["--input", input, "--output", output, "--template-ref", Self.template, "--rate", "500", "--burst", "10", "--connections", "32",
             "--heartbeat-interval", "0.25"] + Self.mapping,
            simulator: simulator
        )
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("done: 3000"))
        #expect(outcome.stderr.contains("reconnects 0,"), "\(outcome.stderr)")
        _ = try TokenizeRunTests.checkOutput(input: input, output: output, expectedRows: 3_000)
        let counters = simulator.stop()
        #expect(JobKindsTests.counter("heartbeat", in: counters) > 0)
        #expect(counters.contains("closed for idleness: 0"), "\(counters)")
    }
}
