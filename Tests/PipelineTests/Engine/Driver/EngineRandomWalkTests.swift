import Checkpoint
import Foundation
import NIOCore
@testable import Pipeline
import ShieldConex
import Testing
import TestSupport

/// A seeded random walk of the real engine driver against a fake service that answers in any
/// order, late or never, fails transiently, throttles and drops connections, with a disk that
/// keeps up or falls behind, and a crash (SIGKILL: what reached the kernel and the checkpoint
/// stays) at random points, each followed by a resume: every record is written exactly once, in
/// input order, the files equal an uninterrupted run's byte for byte, and each crash costs at most
/// one window of requests sent again.
@Suite struct EngineRandomWalkTests {
    static let records = 300

    @Test(arguments: 0..<24)
    func faultsAndCrashesLoseAndDoubleNothing(seed: UInt64) throws {
        try Self.walk(seed: seed)
    }

    /// The same with files that want their points apart (a gzip output through libdeflate, whose
    /// points end members): batches short of the spacing are stored with their tokens and no
    /// point, the lines lost with a kill are rendered again from them, and no point is stored
    /// closer than the spacing to the one before but at a commit.
    @Test(arguments: 100..<112)
    func faultsAndCrashesLoseAndDoubleNothingWithPointsApart(seed: UInt64) throws {
        try Self.walk(seed: seed, pointSpacing: 1_000, commitEvery: 60)
    }

    /// A table's output: its rows reach it only with a commit, so a kill between commits loses
    /// every line since (the lines a file's kernel would keep).
    @Test(arguments: 200..<212)
    func faultsAndCrashesLoseAndDoubleNothingIntoATable(seed: UInt64) throws {
        try Self.walk(seed: seed, commitEvery: 30, table: true)
    }

    static func walk(seed: UInt64, pointSpacing: Int = 0, commitEvery: Int = 10, table: Bool = false) throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        var configuration = try EngineHarness.configuration(input: try EngineHarness.input(Self.records, in: folder))
        configuration.connections = 2
        configuration.inFlight = 4
        configuration.commitEvery = commitEvery
        let window = 8
        let straight = EngineHarness(configuration, pointSpacing: pointSpacing, table: table)
        try straight.start()
        straight.runToEnd { straight.service.answer() }
        #expect(straight.isFinished)

        var random = SeededRandom(seed: seed)
        var disk = EngineHarness.Disk()
        var crashes = 0
        var sent = 0
        // Requests whose answer was a failure the walk chose (each is sent again), and requests
        // lost with a dropped connection (sent again too).
        var failed = 0
        var lost = 0
        var finished = false
        for _ in 0..<80 where !finished {
            let harness = EngineHarness(configuration, disk: disk, pointSpacing: pointSpacing, table: table)
            harness.worker.automatic = random.next() % 2 == 0
            // (A table's transactions run on a worker of their own, slow or not, as the writer's work.)
            if table { harness.commitWorker.automatic = random.next() % 2 == 0 }
            try harness.start()
            let steps = Int(random.next() % 50) + 1
            for _ in 0..<steps where !harness.isFinished {
                switch random.next() % 10 {
                case 0, 1, 2, 3:
                    // A random share of what is pending, in a random order.
                    let pick = random.next()
                    harness.service.pending.shuffle(using: &random)
                    harness.service.answer(where: { ($0.tag &+ Int(truncatingIfNeeded: pick)) % 3 != 0 })
                case 4:
                    let victim = harness.service.pending.randomElement(using: &random)
                    if let victim {
                        failed += 1
                        let code: ErrorCode = random.next() % 2 == 0 ? .serverError : ErrorCode(1429)
                        harness.service.answer(where: { $0.tag == victim.tag && $0.connection === victim.connection }, with: { _ in
                            .success(Response(traceId: "", success: false, failure: .init(code: code, message: "busy")))
                        })
                    }
                case 5:
                    if random.next() % 4 == 0, let connection = harness.service.connections.filter(\.isOpen).randomElement(using: &random) {
                        lost += harness.service.pending.filter { $0.connection === connection }.count
                        connection.drop()
                    }
                case 6:
                    harness.worker.runAll()
                    if table && random.next() % 2 == 0 { harness.commitWorker.runAll() }
                default:
                    harness.service.answer()
                }
                harness.loop.run()
                harness.loop.advanceTime(by: .milliseconds(Int64(random.next() % 300)))
            }
            sent += harness.service.received.count
            if harness.isFinished, case .success = harness.outcome {
                finished = true
                disk = harness.ended()
            } else if harness.isFinished {
                // A run that ended (a transient failure whose budget ran out): its files are whole.
                disk = harness.ended()
            } else {
                crashes += 1
                disk = harness.kill()
            }
        }
        if !finished {
            // The walk's service is healthy from here on.
            let last = EngineHarness(configuration, disk: disk, pointSpacing: pointSpacing, table: table)
            try last.start()
            last.runToEnd { last.service.answer() }
            sent += last.service.received.count
            disk = last.ended()
            finished = (try? last.outcome?.get()) != nil
        }
        #expect(finished, "seed \(seed): the job finished")
        #expect(disk.output == straight.output.written, "seed \(seed): the output equals an uninterrupted run's (\(crashes) crashes)")
        #expect(disk.rejects == straight.rejects.written, "seed \(seed): so do the rejects")
        #expect(disk.checkpoint.complete)
        #expect(disk.checkpoint.pointsTooClose.isEmpty, "seed \(seed): points closer than \(pointSpacing) bytes: \(disk.checkpoint.pointsTooClose)")
        if pointSpacing > 0 { #expect(straight.disk.checkpoint.pointsStored > 0, "points are stored at all") }
        // A table's rows are there only once committed: a point stored before a commit would name
        // rows a kill loses (and a resume that took it would never write them).
        if table { #expect(disk.checkpoint.pointsStored == 0 && straight.disk.checkpoint.pointsStored == 0, "seed \(seed): no written point for a table") }
        let resent = sent - Self.records - failed - lost
        #expect(resent <= crashes * window, "seed \(seed): \(resent) sent again for \(crashes) crashes")
    }
}

/// SplitMix64, for walks that a seed repeats.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
