import Checkpoint
import Foundation
import Pipeline
import Testing
import TestSupport

/// Signals, kills, throttling and idle timeouts: every run ends with a complete, ordered output.
@Suite(.serialized) struct ResilienceTests {
    static let template = "438ac8afecdd8035a21c126ee1fe6c19"
    @Test func sigtermCommitsWhatIsFinishedAndTheRunResumes() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try CSVFiles.generate(rows: 20_000, to: input)
        let simulator = try SimulatorProcess(["--latency-ms", "1"])
        defer { _ = simulator.stop() }
        let output = folder.path("out.csv")
        let arguments = ["run", "--endpoint", simulator.url, "--input", input, "--output", output, "--template-ref", Self.template, "--rate", "2500"]
            + TestRuns.mapping
        let checkpoint = CheckpointStore.defaultPath(forOutput: output)
        let (process, stderr) = try TestRuns.start(arguments)
        TestRuns.waitForCommit(checkpoint, atLeast: 2_000, while: process)
        #expect(process.isRunning, "the run was stopped before it finished")
        process.terminate()
        let messages = TestRuns.read(stderr, until: "to resume")
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

        let resumed = try BinaryLauncher.run(arguments, environment: ["SCX_API_KEY": TestKeys.simulator])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("results reused from the checkpoint"))
        #expect(resumed.stderr.contains("records finished by earlier runs (resumed after them): \(point.seq + 1)\nrecords read: \(20_000 - point.seq - 1)"))
        _ = try TokenizedOutput.check(input: input, output: output, expectedRows: 20_000)
    }

    @Test func aSecondSignalExitsAtOnceAndTheRunStillResumes() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try CSVFiles.generate(rows: 1_000, to: input)
        // Answers take 1 s: the first signal's graceful stop is still waiting when the second comes.
        let simulator = try SimulatorProcess(["--latency-ms", "1000"])
        defer { _ = simulator.stop() }
        let output = folder.path("out.csv")
        let arguments = ["run", "--endpoint", simulator.url, "--input", input, "--output", output, "--template-ref", Self.template] + TestRuns.mapping
        let (process, stderr) = try TestRuns.start(arguments)
        while process.isRunning && !FileManager.default.fileExists(atPath: output) { usleep(2_000) }
        process.interrupt()
        var messages = TestRuns.read(stderr, until: "a second signal exits at once")
        process.interrupt()
        messages += TestRuns.read(stderr, until: "stopped at once")
        process.waitUntilExit()
        #expect(process.terminationStatus == 75, "\(messages)")
        #expect(messages.contains("To resume: run the same command again"))

        let resumed = try BinaryLauncher.run(arguments, environment: ["SCX_API_KEY": TestKeys.simulator])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        _ = try TokenizedOutput.check(input: input, output: output, expectedRows: 1_000)
    }

    /// Ten SIGKILLs at moments chosen by the run's progress over 100,000 records: the final
    /// output is byte for byte the output of an uninterrupted run, and the requests sent again
    /// stay within the kills times the window of requests whose results were not yet durable
    /// (a fixed window here, so that the bound is known before the run).
    @Test func tenKillsGiveTheSameBytesAsAnUninterruptedRun() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try CSVFiles.generate(rows: 100_000, to: input)
        let connections = 4
        let inFlight = 32
        func arguments(_ simulator: SimulatorProcess, _ output: String) -> [String] {
            ["run", "--endpoint", simulator.url, "--input", input, "--output", output, "--template-ref", Self.template,
             "--connections", "\(connections)", "--in-flight", "\(inFlight)", "--fixed-concurrency"] + TestRuns.mapping
        }
        // bfids normally differ per request; --deterministic-ids makes a re-sent request get the same one.
        let reference = try SimulatorProcess(["--deterministic-ids"])
        let straight = folder.path("straight.csv")
        let uninterrupted = try BinaryLauncher.run(arguments(reference, straight), environment: ["SCX_API_KEY": TestKeys.simulator])
        #expect(uninterrupted.status == 0, "\(uninterrupted.stderr)")
        #expect(SimulatorProcess.counter("tokenization-tokenize", in: reference.stop()) == 100_000)

        let simulator = try SimulatorProcess(["--deterministic-ids"])
        let output = folder.path("killed.csv")
        let checkpoint = CheckpointStore.defaultPath(forOutput: output)
        var kills = 0
        var lastCommitted = -1
        while kills < 10 {
            let (process, _) = try TestRuns.start(arguments(simulator, output))
            TestRuns.waitForCommit(checkpoint, atLeast: lastCommitted + Int.random(in: 1...8_000), while: process)
            guard process.isRunning else { break }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            kills += 1
            lastCommitted = (try CheckpointStore.summary(path: checkpoint)).commitPoint?.seq ?? -1
        }
        #expect(kills == 10)
        let final = try BinaryLauncher.run(arguments(simulator, output), environment: ["SCX_API_KEY": TestKeys.simulator])
        #expect(final.status == 0, "\(final.stderr)")
        #expect(FileManager.default.contents(atPath: output) == FileManager.default.contents(atPath: straight), "byte-identical output")
        #expect(FileManager.default.contents(atPath: output + ".rejects.csv") == FileManager.default.contents(atPath: straight + ".rejects.csv"))
        let sent = SimulatorProcess.counter("tokenization-tokenize", in: simulator.stop())
        #expect(sent >= 100_000 && sent - 100_000 <= kills * connections * inFlight, "sent \(sent) for 100,000 records and \(kills) kills")
    }

    /// The service allows less than the client asks for: the client lowers its rate (AIMD) and
    /// the job completes.
    @Test func aRateLimitBelowTheRequestedRateLowersTheSendRate() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try CSVFiles.generate(rows: 20_000, to: input)
        let simulator = try SimulatorProcess(["--rate-limit", "1000"])
        let output = folder.path("out.csv")
        let outcome = try TestRuns.tokenize(
            ["--input", input, "--output", output, "--template-ref", Self.template, "--rate", "2000"] + TestRuns.mapping, simulator: simulator
        )
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("done: 20000"))
        #expect(outcome.stderr.contains("send rate lowered to"), "\(outcome.stderr)")
        _ = try TokenizedOutput.check(input: input, output: output, expectedRows: 20_000)
        let counters = simulator.stop()
        let throttled = SimulatorProcess.counter("1429", in: counters)
        #expect(throttled > 0 && throttled < 4_000, "throttled \(throttled) of 20,000")
    }

    /// Connections that the rate limit leaves idle for longer than the service's idle timeout
    /// (32 connections for 500 requests a second, each answered in about a millisecond: the
    /// least loaded connection is chosen, lowest first on a tie, so the last ones wait for the
    /// whole 6-second run) are kept alive by heartbeats: nothing is closed, nothing reconnects.
    /// The idle timeout (2 s) leaves 1.75 s for a heartbeat due every 0.25 s, so a busy machine
    /// that runs timers late does not fail the test.
    @Test func heartbeatsOutlastAnIdleTimeoutShorterThanTheGaps() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try CSVFiles.generate(rows: 3_000, to: input)
        let simulator = try SimulatorProcess(["--idle-timeout", "2"])
        let output = folder.path("out.csv")
        let outcome = try TestRuns.tokenize(
            ["--input", input, "--output", output, "--template-ref", Self.template, "--rate", "500", "--burst", "10", "--connections", "32",
             "--heartbeat-interval", "0.25"] + TestRuns.mapping,
            simulator: simulator
        )
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("done: 3000"))
        #expect(outcome.stderr.contains("reconnects 0,"), "\(outcome.stderr)")
        _ = try TokenizedOutput.check(input: input, output: output, expectedRows: 3_000)
        let counters = simulator.stop()
        #expect(SimulatorProcess.counter("heartbeat", in: counters) > 0)
        #expect(counters.contains("closed for idleness: 0"), "\(counters)")
    }
}
