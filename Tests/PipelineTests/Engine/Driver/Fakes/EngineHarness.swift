import Checkpoint
import Logging
import NIOCore
import NIOEmbedded
@testable import Pipeline
import ShieldConex
import TestSupport

/// Runs the real engine driver on an ``NIOEmbedded/EmbeddedEventLoop`` (virtual time) with a fake
/// service, checkpoint, files and worker: one run of a job, which a test may "kill" (drop it,
/// keeping what a killed process leaves) and resume with another harness over the same state.
final class EngineHarness: @unchecked Sendable {
    /// What a job leaves between runs: the checkpoint and the files (what a kill keeps of them).
    final class Disk {
        let checkpoint = FakeCheckpoint()
        var output: [UInt8] = []
        var rejects: [UInt8] = []
    }

    let loop = EmbeddedEventLoop()
    let service = FakeService()
    let worker = ManualWorker()
    /// A table's commits' own worker (its transactions run aside from the writer's work).
    let commitWorker = ManualWorker()
    let disk: Disk
    let output: FakeOutput
    let rejects: FakeOutput
    let configuration: BatchJob.Configuration
    private(set) var engine: Engine!
    private(set) var outcome: Result<JobSummary, any Error>?
    private(set) var resume: ResumeDecision!

    /// The configuration of a tokenize job of `input` (a CSV file: id, card_number, card_exp,
    /// card_cvv, ...), one connection of `inFlight`, a fixed window, commits every 10 records.
    static func configuration(input: String, action: JobAction = .tokenize, inFlight: Int = 8) throws -> BatchJob.Configuration {
        let instructions: [Instruction] = switch action {
        case .tokenize, .detokenize, .retokenize:
            [Instruction(.key, "card_number", fieldName: "card_number"), Instruction(.key, "card_cvv", fieldName: "card_cvv")]
        case .read:
            [Instruction(.key, "card_number", fieldName: "card_number")]
        }
        var configuration = BatchJob.Configuration(
            endpoint: try Endpoint("ws://127.0.0.1:1"), endpointName: "local", key: APIKey("a2V5OnNlY3JldA=="), templateRef: "t", inputPath: input,
            format: .csv, instructions: instructions, outputPath: input + ".out", rejectsPath: input + ".rejects", checkpointPath: input + ".sqlite"
        )
        configuration.action = action
        configuration.idColumn = "id"
        configuration.connections = 1
        configuration.inFlight = inFlight
        configuration.fixedConcurrency = true
        configuration.commitEvery = 10
        configuration.retry.budget = .seconds(60)
        return configuration
    }

    /// `pointSpacing`: the output's (``OutputSink/pointSpacing``), checked by the checkpoint.
    /// `table`: the output is a table's (``TableOutput``): rows reach it only with a commit.
    init(_ configuration: BatchJob.Configuration, disk: Disk = Disk(), pointSpacing: Int = 0, table: Bool = false) {
        self.configuration = configuration
        self.disk = disk
        output = FakeOutput(disk.output)
        output.pointSpacing = table ? Int.max : pointSpacing
        output.keepsFlushedLines = !table
        if table { output.commitWorker = commitWorker }
        rejects = FakeOutput(disk.rejects)
        disk.checkpoint.pointSpacing = Int64(pointSpacing)
    }

    /// Decides where the run starts (as ``EngineWiring`` does, over the fakes), builds the engine
    /// and starts it.
    func start() throws {
        let checkpoint = disk.checkpoint
        resume = ResumeDecision.decide(
            committed: checkpoint.commitPoint, written: checkpoint.writtenPoint, output: output.keepsFlushedLines ? .regular(output.offset) : .table,
            rejects: .regular(rejects.offset)
        )
        // A resume cuts the files back to the point it takes up from, as OutputFile does.
        if let point = resume.point {
            output.cut(to: point.outputOffset)
            rejects.cut(to: point.rejectsOffset)
        } else {
            output.cut(to: 0)
            rejects.cut(to: 0)
        }
        if let written = resume.adoptedWritten { try checkpoint.commit(written, complete: false) }
        let opened = try InputSource.open(path: configuration.inputPath, format: configuration.format, from: resume.readFrom)
        let (mapper, renderer, identifier, bfidReader) = try EngineWiring.mapping(configuration, header: opened.header)
        let stage = CheckpointStage(
            store: checkpoint, stored: checkpoint, commitPoint: checkpoint.commitPoint, output: output, rejects: rejects, writer: worker, loop: loop
        )
        let parts = Engine.Parts(
            source: ReaderSource(opened.reader), mapper: mapper, renderer: renderer, identifier: identifier, bfidReader: bfidReader,
            stage: stage, connector: service.connector(), firstSeq: resume.firstSeq, notReusedThrough: resume.notReusedThrough,
            writesHeaders: resume.point == nil, inputSize: 0
        )
        var logger = Logger(label: "engine-test")
        logger.logLevel = .critical
        engine = Engine(configuration: configuration, jobId: "job", logger: logger, loop: loop, parts: parts)
        engine.outcome.whenComplete { [self] in outcome = $0 }
        engine.handle(.started)
        loop.run()
    }

    var isFinished: Bool { outcome != nil }

    /// Answers what the service holds and lets the engine go on, until the job ends (or `steps`
    /// rounds pass); each round advances the clock by `tick`.
    @discardableResult
    func runToEnd(steps: Int = 10_000, tick: TimeAmount = .milliseconds(50), answering answer: () -> Void = {}) -> Result<JobSummary, any Error>? {
        var step = 0
        while outcome == nil && step < steps {
            answer()
            loop.run()
            loop.advanceTime(by: tick)
            step += 1
        }
        return outcome
    }

    /// What a SIGKILL leaves now: the stored checkpoint, and the bytes of the files that reached
    /// the kernel. The engine is dropped (its loop is never run again).
    func kill() -> Disk {
        disk.output = output.afterKill
        disk.rejects = rejects.afterKill
        return disk
    }

    /// What a run that ended leaves: everything written.
    func ended() -> Disk {
        // (A table drops the rows past its last commit: they were never in it.)
        disk.output = output.keepsFlushedLines ? output.written : output.afterKill
        disk.rejects = rejects.written
        return disk
    }

    /// The ids in the output's lines (its first column), header left out.
    var outputIds: [String] {
        output.text.split(separator: "\n").dropFirst().map { String($0.split(separator: ",").first ?? "") }
    }

    /// Writes a CSV input of `count` records with ids `R0...`, Luhn-valid test card numbers and
    /// CVVs; returns its path.
    static func input(_ count: Int, in folder: TestFolder, name: String = "in.csv") throws -> String {
        let path = folder.path(name)
        var text = "id,card_number,card_exp,card_cvv\n"
        for index in 0..<count { text += "R\(index),\(TestCards.pan(index)),1229,\(100 + index % 900)\n" }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

extension FakeOutput {
    func cut(to length: Int64) {
        written = Array(written.prefix(Int(length)))
        flushed = min(flushed, written.count)
        synced = min(synced, written.count)
        committed = min(committed, written.count)
    }
}
