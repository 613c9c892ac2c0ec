@testable import Checkpoint
import Foundation
import ShieldConex
import Testing
import TestSupport

/// What an operator can do to a job's files between two runs, and what the next run does about
/// it: refuse, with the way out, rather than pad, overwrite or follow.
@Suite(.serialized) struct FileSafetyTests {
    static let template = "438ac8afecdd8035a21c126ee1fe6c19"

    /// Kill a run, then delete its output, or cut it short: the next run refuses (exit 64, naming
    /// --restart) instead of writing a file that starts with megabytes of NUL and no header;
    /// `--restart` then does the whole job.
    @Test func aDeletedOrShortenedOutputIsRefusedOnResume() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try CSVFiles.generate(rows: 20_000, to: input)
        let simulator = try SimulatorProcess()
        defer { _ = simulator.stop() }
        let output = folder.path("out.csv")
        let arguments = ["run", "--endpoint", simulator.url, "--input", input, "--output", output, "--template-ref", Self.template,
                         "--rate", "2000"] + TestRuns.mapping
        let (process, _) = try TestRuns.start(arguments)
        TestRuns.waitForCommit(CheckpointStore.defaultPath(forOutput: output), atLeast: 2_000, while: process)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()

        for damage in ["shorten", "delete rejects", "delete"] {
            let saved = try Data(contentsOf: URL(fileURLWithPath: output))
            let savedRejects = try Data(contentsOf: URL(fileURLWithPath: output + ".rejects.csv"))
            switch damage {
            case "delete": try FileManager.default.removeItem(atPath: output)
            case "shorten": try saved.prefix(100).write(to: URL(fileURLWithPath: output))
            default: try FileManager.default.removeItem(atPath: output + ".rejects.csv")
            }
            let resumed = try BinaryLauncher.run(arguments, environment: ["SCX_API_KEY": TestKeys.simulator])
            #expect(resumed.status == 64, "\(damage): \(resumed.stderr)")
            #expect(resumed.stderr.contains("--restart"), "\(damage): \(resumed.stderr)")
            if damage == "delete" {
                #expect(resumed.stderr.contains("is missing"))
                #expect(!FileManager.default.fileExists(atPath: output), "nothing written in its place")
            }
            if damage == "shorten" {
                #expect(resumed.stderr.contains("cut short"))
                #expect(try Data(contentsOf: URL(fileURLWithPath: output)).count == 100, "left as it was")
            }
            // Put the bytes back (in place where the file still exists; a deleted one comes back
            // as another file, which the next resume would refuse as replaced).
            try saved.write(to: URL(fileURLWithPath: output))
            try savedRejects.write(to: URL(fileURLWithPath: output + ".rejects.csv"))
        }
        let restarted = try BinaryLauncher.run(arguments + ["--restart"], environment: ["SCX_API_KEY": TestKeys.simulator])
        #expect(restarted.status == 0, "\(restarted.stderr)")
        _ = try TokenizedOutput.check(input: input, output: output, expectedRows: 20_000)
    }
}

/// Two roles, one file: refused before anything is opened for writing (`--output` equal to
/// `--input` truncated the input).
@Suite(.serialized) struct DistinctFilesTests {
    @Test(arguments: ["same path", "dot path", "symlinked folder", "hard link", "rejects", "checkpoint", "report", "metrics"])
    func twoRolesOneFileAreRefused(kind: String) throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        let original = try Data(contentsOf: URL(fileURLWithPath: ProjectFiles.root + "/samples/cards.csv"))
        try original.write(to: URL(fileURLWithPath: input))
        var output = folder.path("out.csv")
        var extra: [String] = []
        switch kind {
        case "same path": output = input
        case "dot path": output = folder.path("./sub/../cards.csv")
        case "symlinked folder":
            try FileManager.default.createSymbolicLink(atPath: folder.path("alias"), withDestinationPath: folder.url.path)
            output = folder.path("alias/cards.csv")
        case "hard link":
            try FileManager.default.linkItem(atPath: input, toPath: folder.path("linked.csv"))
            output = folder.path("linked.csv")
        case "rejects": extra = ["--rejects", input]
        case "checkpoint": extra = ["--checkpoint", output]
        case "report": extra = ["--report", output + ".rejects.csv"]
        default: extra = ["--metrics-file", input]
        }
        try FileManager.default.createDirectory(atPath: folder.path("sub"), withIntermediateDirectories: true)
        let outcome = try BinaryLauncher.run(
            ["run", "--endpoint", "local", "--input", input, "--output", output, "--template-ref", "438ac8afecdd8035a21c126ee1fe6c19",
             "--map", "card_number=card_number"] + extra
        )
        #expect(outcome.status == 64, "\(kind): \(outcome.stderr)")
        #expect(outcome.stderr.contains("are the same file"), "\(kind): \(outcome.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: input)) == original, "the input is untouched")
    }
}

/// A second run beside a live one is refused, with `--restart` too (it deleted the checkpoint
/// before taking the lock, and two processes then wrote one job), and so is a second job with
/// its own checkpoint that writes the same output.
@Suite(.serialized) struct LiveRunTests {
    @Test func restartAndASecondCheckpointAreRefusedBesideALiveRun() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try CSVFiles.generate(rows: 3_000, to: input)
        let simulator = try SimulatorProcess()
        defer { _ = simulator.stop() }
        let output = folder.path("out.csv")
        let arguments = ["run", "--endpoint", simulator.url, "--input", input, "--output", output, "--template-ref",
                         "438ac8afecdd8035a21c126ee1fe6c19", "--rate", "500"] + TestRuns.mapping
        let (live, _) = try TestRuns.start(arguments)
        let checkpoint = CheckpointStore.defaultPath(forOutput: output)
        TestRuns.waitForCommit(checkpoint, atLeast: 100, while: live)
        let key = ["SCX_API_KEY": TestKeys.simulator]
        let restart = try BinaryLauncher.run(arguments + ["--restart"], environment: key)
        #expect(restart.status == 64, "\(restart.stderr)")
        #expect(restart.stderr.contains("another run is using the checkpoint"))
        let other = try BinaryLauncher.run(arguments + ["--checkpoint", folder.path("other.sqlite")], environment: key)
        #expect(other.status == 64, "\(other.stderr)")
        #expect(other.stderr.contains("another run is writing"))
        live.waitUntilExit()
        #expect(live.terminationStatus == 0)
        _ = try TokenizedOutput.check(input: input, output: output, expectedRows: 3_000)
    }
}

/// A crash prints no memory and leaves no core dump. Run here *without* SWIFT_BACKTRACE=enable=no
/// on purpose: the process must switch the backtracer off itself (it printed registers and the
/// memory they pointed at). Output goes to a file and a deadline guards the run, so a backtracer
/// that did start cannot hold the test for minutes.
@Suite(.serialized) struct CrashHygieneTests {
    @Test func aCrashPrintsNoMemoryAndDumpsNoCore() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let held = "4000001234567899"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: BinaryLauncher.binary)
        process.arguments = ["_crash", "--hold", held]
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = nil
        process.environment = environment
        process.currentDirectoryURL = folder.url
        _ = FileManager.default.createFile(atPath: folder.path("stderr"), contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: folder.path("stderr")))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try log.close()
        let output = try String(contentsOfFile: folder.path("stderr"), encoding: .utf8)
        #expect(process.terminationReason == .uncaughtSignal, "it did crash: \(output)")
        #expect(!output.contains("Backtracing") && !output.contains("Program crashed") && !output.contains("Registers"), "\(output)")
        #expect(!output.contains(held) && !output.contains("4000 0012"), "the held value is not printed")
        let left = try FileManager.default.contentsOfDirectory(atPath: folder.url.path)
        #expect(!left.contains { $0.hasPrefix("core") }, "no core dump: \(left)")
    }
}

/// A record edited in place after a kill (the middle of a file over 2 MiB, the same size, so the
/// input fingerprint sees no change) is sent again on resume: a stored result is reused only for
/// the values it was stored for (a keyed digest of them). Compared byte for byte with a straight
/// run over the edited file, both against `--deterministic-ids` simulators.
@Suite(.serialized) struct EditedRecordTests {
    @Test func aRecordEditedAfterAKillIsSentAgain() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try CSVFiles.generate(rows: 50_000, to: input)
        // Answers in their own time (exponential latency), so that many come back before an
        // earlier one and are stored, with their tokens, before their lines are written.
        let simulator = try SimulatorProcess(["--deterministic-ids", "--latency-ms", "2"])
        defer { _ = simulator.stop() }
        let output = folder.path("out.csv")
        func arguments(_ url: String, _ output: String) -> [String] { TestRuns.tokenize(input, url, output) }
        let checkpoint = CheckpointStore.defaultPath(forOutput: output)
        // At 5,000 records/s (the rate is not part of the job's identity): the kill comes well
        // before the fingerprint's last MiB (records past about 35,000), whose change the resume
        // would refuse as another input. Unthrottled, a fast run was past it by the time such a
        // result was found.
        let (process, _) = try TestRuns.start(arguments(simulator.url, output) + ["--rate", "5000"])
        // Past the fingerprint's first MiB (about 19,000 records), and with such a result stored.
        // Looked for with the run stopped (SIGSTOP): found, it is killed in that state; else it
        // goes on (SIGCONT). (Looked for while it ran, a loaded machine's run committed past the
        // result found before the kill arrived.)
        while process.isRunning {
            kill(process.processIdentifier, SIGSTOP)
            if let summary = try? CheckpointStore.summary(path: checkpoint), let committed = summary.commitPoint?.seq, committed >= 25_000,
                let stored = try? CheckpointStore.storedResults(path: checkpoint, in: (max(committed, summary.writtenPoint?.seq ?? -1) + 1)...Int.max),
                stored.values.contains(where: { $0.status == .done && !$0.tokens.isEmpty })
            {
                break
            }
            kill(process.processIdentifier, SIGCONT)
            usleep(2_000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()

        // A record whose result is stored but not committed: the resume would reuse it. (Past
        // the written point: the lines up to it are in the file, and the resume takes up there.)
        let summary = try CheckpointStore.summary(path: checkpoint)
        let committed = max(try #require(summary.commitPoint?.seq), summary.writtenPoint?.seq ?? -1)
        let stored = try CheckpointStore.storedResults(path: checkpoint, in: (committed + 1)...Int.max)
        let seq = try #require(
            stored.values.filter { $0.status == .done && !$0.tokens.isEmpty }.map(\.seq).min(),
            "no stored result beyond the commit point to edit"
        )
        #expect(seq > 20_000, "in the middle of the file, outside the fingerprint's first MiB")
        // (Digests are taken when a result is handed to the checkpoint before its line is written.)
        #expect(stored.values.filter { !$0.tokens.isEmpty }.allSatisfy { $0.digest != nil }, "every result stored with its tokens has its digest")

        // Its card number changes to another of the same length (the file keeps its size).
        var bytes = try Data(contentsOf: URL(fileURLWithPath: input))
        let old = TestCards.pan(seq)
        let new = TestCards.pan(seq, prefix: "400001")
        let range = try #require(bytes.range(of: Data("C\(seq),\(old),".utf8)))
        bytes.replaceSubrange(range, with: Data("C\(seq),\(new),".utf8))
        try bytes.write(to: URL(fileURLWithPath: input))

        let resumed = try BinaryLauncher.run(arguments(simulator.url, output), environment: ["SCX_API_KEY": TestKeys.simulator])
        try #require(resumed.status == 0, "\(resumed.stderr)")
        let reference = try SimulatorProcess(["--deterministic-ids"])
        let straight = folder.path("straight.csv")
        let clean = try BinaryLauncher.run(arguments(reference.url, straight), environment: ["SCX_API_KEY": TestKeys.simulator])
        _ = reference.stop()
        #expect(clean.status == 0)
        let rows = try CSVFiles.read(output).rows
        let expected = try CSVFiles.read(straight).rows
        try #require(rows.count == expected.count)
        #expect(rows[seq] == expected[seq], "record \(seq + 1) has the token of its new value")
    }
}

/// After a kill, the next run takes up from the last written point (the lines the files held
/// when the last batch of results was stored, whose tokens were then not stored). If the output
/// lost those lines (a machine that lost its power loses what was not synced; here the file is
/// cut back to its commit point), those records are sent again, with a warning, and the output
/// is still the same, byte for byte, as a straight run's.
@Suite(.serialized) struct WrittenPointTests {
    @Test func anOutputCutBackToItsCommitPointIsFilledAgainBySendingThoseRecords() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try CSVFiles.generate(rows: 30_000, to: input)
        let simulator = try SimulatorProcess(["--deterministic-ids"])
        defer { if simulator.process.isRunning { _ = simulator.stop() } }
        let output = folder.path("out.csv")
        func arguments(_ url: String, _ output: String) -> [String] { TestRuns.tokenize(input, url, output) }
        let checkpoint = CheckpointStore.defaultPath(forOutput: output)
        let (process, _) = try TestRuns.start(arguments(simulator.url, output))
        // Killed once batches of results are stored 300 records past a commit past the 10,000th
        // record, some of them without their tokens (their lines were written in the batch that
        // stored them; a batch stored before its lines were rendered keeps its tokens, so whether
        // any were dropped depends on how answers and writes interleaved). The process is stopped
        // while the checkpoint is read, so the state read is the state the kill leaves.
        var killed = false
        while process.isRunning && !killed {
            usleep(1_000)
            guard let summary = try? CheckpointStore.summary(path: checkpoint), let committed = summary.commitPoint, committed.seq >= 10_000,
                let written = summary.writtenPoint, written.seq >= committed.seq + 300
            else { continue }
            kill(process.processIdentifier, SIGSTOP)
            if Self.tokensDropped(checkpoint: checkpoint) > 0 {
                kill(process.processIdentifier, SIGKILL)
                killed = true
            } else {
                kill(process.processIdentifier, SIGCONT)
            }
        }
        try #require(killed, "the run ended before results were stored without their tokens")
        process.waitUntilExit()

        let summary = try CheckpointStore.summary(path: checkpoint)
        let committed = try #require(summary.commitPoint)
        let written = try #require(summary.writtenPoint, "results were stored after the last commit")
        #expect(written.seq > committed.seq && written.outputOffset > committed.outputOffset)
        #expect(Self.tokensDropped(checkpoint: checkpoint) > 0, "records whose lines were written were stored without their tokens")
        #expect(truncate(output, off_t(committed.outputOffset)) == 0)

        let resumed = try BinaryLauncher.run(arguments(simulator.url, output), environment: ["SCX_API_KEY": TestKeys.simulator])
        try #require(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("ends before the last written point"), "\(resumed.stderr)")
        // Every record once, and those between the commit point and the written point twice.
        let sent = SimulatorProcess.counter("tokenization-tokenize", in: simulator.stop())
        #expect(sent >= 30_000 + written.seq - committed.seq, "the records whose lines were lost were sent again: \(sent)")

        let reference = try SimulatorProcess(["--deterministic-ids"])
        let straight = folder.path("straight.csv")
        let clean = try BinaryLauncher.run(arguments(reference.url, straight), environment: ["SCX_API_KEY": TestKeys.simulator])
        _ = reference.stop()
        #expect(clean.status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == Data(contentsOf: URL(fileURLWithPath: straight)))
    }

    /// Records between the commit point and the written point stored done but without their tokens.
    static func tokensDropped(checkpoint: String) -> Int {
        guard let summary = try? CheckpointStore.summary(path: checkpoint), let committed = summary.commitPoint,
            let written = summary.writtenPoint, written.seq > committed.seq,
            let between = try? CheckpointStore.storedResults(path: checkpoint, in: (committed.seq + 1)...written.seq)
        else { return 0 }
        return between.values.filter { $0.status == .done && $0.tokens.isEmpty }.count
    }
}
