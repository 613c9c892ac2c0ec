import Checkpoint
import Foundation
import NIOCore
@testable import Pipeline
import ShieldConex
import Testing
import TestSupport

/// The real engine driver, in-process, on virtual time, against a fake service, checkpoint and
/// files: every test runs in milliseconds and asserts what the job wrote and stored.
@Suite struct EngineDriverTests {
    /// Answers in any order: the output is in input order, every record once.
    @Test func answersInAnyOrderAreWrittenInInputOrder() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let harness = EngineHarness(try EngineHarness.configuration(input: try EngineHarness.input(57, in: folder)))
        try harness.start()
        let outcome = harness.runToEnd { harness.service.answerReversed() }
        let summary = try #require(try outcome?.get())
        #expect(summary.done == 57)
        #expect(harness.outputIds == (0..<57).map { "R\($0)" })
        #expect(harness.disk.checkpoint.complete && harness.disk.checkpoint.commitPoint?.seq == 56)
        #expect(harness.service.received.count == 57, "each record sent once")
        // The tokens are the service's, in their columns; the bfid is the record's request's.
        let first = harness.output.text.split(separator: "\n")[1]
        #expect(first == "R0,T\(String(TestCards.pan(0).reversed())),1229,T001,Bjob:0")
    }

    /// A read must never go out twice: its going out is durable (stored as sent) before the
    /// request leaves, whatever the disk's speed.
    @Test func aReadIsDurableBeforeItLeaves() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("read.csv")
        try ("id,card_number,bfid\n" + (0..<20).map { "R\($0),,\(String(repeating: "b", count: 36))\(1000 + $0)\n" }.joined()).write(toFile: input, atomically: true, encoding: .utf8)
        let harness = EngineHarness(try EngineHarness.configuration(input: input, action: .read))
        harness.worker.automatic = false
        var unstoredSends: [Int] = []
        harness.service.onReceive = { request in
            if harness.disk.checkpoint.results[request.seq]?.status != .sent { unstoredSends.append(request.seq) }
        }
        try harness.start()
        #expect(harness.service.received.isEmpty, "nothing leaves before the disk has it")
        let outcome = harness.runToEnd {
            harness.worker.runAll()
            harness.service.answer(with: { request in
                .success(Response(traceId: "", success: true, values: [FieldValue(name: "card_number", value: "T" + (request.bfid ?? ""))]))
            })
        }
        #expect(unstoredSends.isEmpty, "sent before stored: \(unstoredSends)")
        #expect(try outcome?.get().done == 20, "\(String(describing: outcome))")
        #expect(harness.service.received.count == 20)
    }

    /// A record that still fails transiently when its retry budget runs out goes to the rejects
    /// file as transient and freezes the commit point before it: the next run reads it again,
    /// sends only it, and reuses the stored results after it. The two runs' files equal one
    /// uninterrupted run's.
    @Test func aTransientFailureFreezesTheCommitPointAndTheNextRunSendsOnlyIt() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = try EngineHarness.input(40, in: folder)
        var configuration = try EngineHarness.configuration(input: input)
        configuration.retry.budget = .zero
        let straight = EngineHarness(configuration)
        try straight.start()
        straight.runToEnd { straight.service.answer() }

        let first = EngineHarness(configuration)
        try first.start()
        let outcome = first.runToEnd {
            first.service.answer(where: { $0.seq != 13 })
            first.service.answer(where: { $0.seq == 13 }, with: { _ in
                .success(Response(traceId: "", success: false, failure: .init(code: .serverError, message: "Server error")))
            })
        }
        guard case .failure(let error as JobError) = outcome else { Issue.record("the job did not fail transiently: \(String(describing: outcome))"); return }
        #expect(error.kind == .transient)
        #expect(first.disk.checkpoint.commitPoint?.seq == 12, "frozen before the transient record")
        #expect(first.disk.checkpoint.results[20]?.tokens.isEmpty == false, "results after it keep their tokens, to be reused")

        let second = EngineHarness(configuration, disk: first.ended())
        try second.start()
        let resumed = second.runToEnd { second.service.answer() }
        #expect(try resumed?.get().reusedFromCheckpoint == 26)
        #expect(second.service.received.map(\.seq) == [13], "only the transient record is sent again")
        #expect(second.output.written == straight.output.written)
        #expect(second.rejects.written == straight.rejects.written)
    }

    /// A stop reads nothing more, lets the requests in flight answer, writes and commits what is
    /// finished, and ends as interrupted.
    @Test func aStopDrainsTheRequestsInFlightAndCommits() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let harness = EngineHarness(try EngineHarness.configuration(input: try EngineHarness.input(100, in: folder)))
        try harness.start()
        harness.service.answer()
        harness.loop.run()
        let sentBeforeStop = harness.service.received.count
        harness.engine.handle(.stopRequested)
        harness.loop.run()
        let outcome = harness.runToEnd { harness.service.answer() }
        guard case .failure(let error as JobError) = outcome else { Issue.record("not interrupted: \(String(describing: outcome))"); return }
        #expect(error.kind == .interrupted)
        #expect(harness.service.received.count == sentBeforeStop, "nothing is sent after the stop")
        let committed = try #require(harness.disk.checkpoint.commitPoint)
        #expect(committed.seq == sentBeforeStop - 1)
        #expect(harness.outputIds == (0..<sentBeforeStop).map { "R\($0)" })
        #expect(!harness.disk.checkpoint.complete)
    }

    /// A connection that drops with requests in flight: they fail as lost, go again on a new
    /// connection, and every record is written once.
    @Test func aLostConnectionIsReplacedAndItsRequestsGoAgain() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let harness = EngineHarness(try EngineHarness.configuration(input: try EngineHarness.input(30, in: folder)))
        try harness.start()
        let firstConnection = try #require(harness.service.connections.first)
        let inFlight = harness.service.pending.count
        #expect(inFlight > 0)
        firstConnection.drop()
        let outcome = harness.runToEnd { harness.service.answer() }
        #expect(try outcome?.get().done == 30)
        #expect(harness.service.connections.count == 2, "one new connection")
        #expect(harness.outputIds == (0..<30).map { "R\($0)" })
        #expect(harness.service.received.count == 30 + inFlight, "the lost requests went again, once each")
    }

    /// A record whose values name a field twice goes as one request per group, one after the
    /// other (a strict service refuses a field named twice); its line takes every token in place
    /// and the bfids of its requests, in order.
    @Test func aRecordOfSeveralGroupsGoesAsOneRequestAfterTheOther() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("notes.csv")
        let (first, second) = (TestCards.pan(1), TestCards.pan(2))
        try "id,notes\nR0,call \(first) or \(second)\nR1,none\n".write(toFile: input, atomically: true, encoding: .utf8)
        var configuration = try EngineHarness.configuration(input: input)
        configuration.instructions = [Instruction(.regex, "[0-9]{16}", fieldName: "card_number", source: "notes")]
        let harness = EngineHarness(configuration)
        try harness.start()
        var rounds: [[String]] = []
        let outcome = harness.runToEnd {
            if !harness.service.pending.isEmpty { rounds.append(harness.service.pending.map { $0.request.reference ?? "" }) }
            harness.service.answer()
        }
        #expect(try outcome?.get().done == 1)
        #expect(rounds == [["job:0"], ["job:0.1"]], "the second group goes once the first is answered")
        let line = harness.output.text.split(separator: "\n")[1]
        #expect(line == "R0,call T\(String(first.reversed())) or T\(String(second.reversed())),Bjob:0\(MappedRecord.bfidSeparator)Bjob:0.1")
    }

    /// The window grows while it is full at the latency floor (connections are added for it),
    /// and shrinks when the round trip climbs well above the floor: on virtual time, so the
    /// service's latency is exactly what the test says.
    @Test func theWindowGrowsAtTheFloorAndShrinksWhenLatencyRises() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        var configuration = try EngineHarness.configuration(input: try EngineHarness.input(30_000, in: folder), inFlight: 8)
        configuration.fixedConcurrency = false
        configuration.connections = 1
        configuration.connectionsMax = 8
        configuration.inFlightMax = 32
        configuration.commitEvery = 5_000
        let harness = EngineHarness(configuration)
        try harness.start()
        // A service 10 ms away: every round, what was sent 10 ms ago is answered.
        for _ in 0..<150 where !harness.isFinished {
            harness.loop.advanceTime(by: .milliseconds(10))
            harness.service.answer()
            harness.worker.runAll()
            harness.loop.run()
        }
        let grown = harness.engine.controller.window
        #expect(grown > 8, "the window grew from 8 to \(grown)")
        #expect(harness.service.connections.count > 1, "connections were added for it")
        // Now 100 ms away: answers wait ten rounds.
        var waited = 0
        for _ in 0..<400 where !harness.isFinished {
            waited += 1
            if waited % 10 == 0 { harness.service.answer() }
            harness.worker.runAll()
            harness.loop.run()
            harness.loop.advanceTime(by: .milliseconds(10))
        }
        #expect(harness.engine.controller.window < grown, "the window shrank from \(grown) to \(harness.engine.controller.window)")
        #expect(harness.engine.controller.changes[.latency, default: 0] > 0)
    }

    /// A kill between a batch stored with its written point and the next commit, then a resume
    /// over files that hold every written line, some of them, or only the committed ones (a
    /// machine that lost its power): each run ends with an uninterrupted run's files, and the
    /// records whose lines survived are not sent again.
    @Test(arguments: ["whole", "part", "committed"])
    func aResumeTakesUpFromWhatTheFilesStillHold(files: String) throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        var configuration = try EngineHarness.configuration(input: try EngineHarness.input(200, in: folder))
        configuration.commitEvery = 50
        let straight = EngineHarness(configuration)
        try straight.start()
        straight.runToEnd { straight.service.answer() }

        // Runs until a batch past the commit point is stored with its written point; then kills.
        var killed: EngineHarness.Disk?
        for steps in 1...60 where killed == nil {
            let run = EngineHarness(configuration)
            try run.start()
            for _ in 0..<steps where !run.isFinished {
                run.service.answer()
                run.loop.run()
                run.loop.advanceTime(by: .milliseconds(260))
            }
            let disk = run.kill()
            if let written = disk.checkpoint.writtenPoint, written.seq > (disk.checkpoint.commitPoint?.seq ?? -1) + 1, !run.isFinished { killed = disk }
        }
        let disk = try #require(killed, "a kill after a stored written point")
        let committed = disk.checkpoint.commitPoint?.outputOffset ?? 0
        let committedSeq = disk.checkpoint.commitPoint?.seq ?? -1
        let written = try #require(disk.checkpoint.writtenPoint)
        switch files {
        case "part": disk.output = Array(disk.output.prefix(Int(committed + (written.outputOffset - committed) / 2)))
        case "committed": disk.output = Array(disk.output.prefix(Int(committed)))
        default: #expect(Int64(disk.output.count) >= written.outputOffset)
        }
        let resumed = EngineHarness(configuration, disk: disk)
        try resumed.start()
        let outcome = resumed.runToEnd { resumed.service.answer() }
        #expect(throws: Never.self) { try outcome?.get() }
        #expect(resumed.output.written == straight.output.written, "\(files): the output equals an uninterrupted run's")
        #expect(resumed.rejects.written == straight.rejects.written)
        let sentAgain = Set(resumed.service.received.map(\.seq))
        if files == "whole" {
            #expect(resumed.resume.firstSeq == written.seq + 1)
            #expect(sentAgain.allSatisfy { $0 > written.seq }, "lines that survived are not sent again")
        } else {
            #expect(resumed.resume.firstSeq == committedSeq + 1)
        }
    }
}
