import Checkpoint
import Foundation
import NIOCore
@testable import Pipeline
import ShieldConex
import Testing
import TestSupport

/// `--dedup` in the real engine driver, in-process, on virtual time: a record whose mapped values
/// are all an earlier record's takes that record's answer (waiting for it while it is in flight),
/// in input order; a refused first record gives its repeats nothing; a resumed run's repeats take
/// the answers the checkpoint kept.
@Suite struct EngineDedupTests {
    /// `count` records whose card (number and CVV) is card `index % distinct`: the records from
    /// `distinct` on repeat an earlier one.
    static func input(_ count: Int, distinct: Int, in folder: TestFolder, card: ((Int) -> Int)? = nil) throws -> String {
        let path = folder.path("repeats.csv")
        var text = "id,card_number,card_exp,card_cvv\n"
        for index in 0..<count {
            let card = card?(index) ?? index % distinct
            text += "R\(index),\(TestCards.pan(card)),1229,\(100 + card)\n"
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func configuration(input: String) throws -> BatchJob.Configuration {
        var configuration = try EngineHarness.configuration(input: input)
        configuration.dedup = true
        return configuration
    }

    /// The output's lines by id: the columns after the id (tokens, expiry, bfid).
    static func lines(_ harness: EngineHarness) -> [String: String] {
        var lines: [String: String] = [:]
        for line in harness.output.text.split(separator: "\n").dropFirst() {
            let parts = line.split(separator: ",", maxSplits: 1)
            lines[String(parts[0])] = String(parts[1])
        }
        return lines
    }

    @Test func repeatsTakeTheirFirstRecordsAnswerInInputOrder() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let (count, distinct) = (60, 20)
        let harness = EngineHarness(try Self.configuration(input: try Self.input(count, distinct: distinct, in: folder)))
        try harness.start()
        // Answers last sent first: repeats wait for requests still in flight.
        let summary = try #require(try harness.runToEnd { harness.service.answerReversed() }?.get())
        #expect(harness.service.received.count == distinct, "one request per distinct record")
        #expect(summary.done == count && summary.deduplicated == count - distinct)
        #expect(harness.outputIds == (0..<count).map { "R\($0)" })
        let lines = Self.lines(harness)
        let sameAsFirst = (distinct..<count).allSatisfy { lines["R\($0)"] == lines["R\($0 % distinct)"] }
        #expect(sameAsFirst, "a repeat's tokens and bfid are its first record's")
    }

    /// The first request for card 3 is refused: its repeats are sent, each on its own, and
    /// get answers (and bfids) of their own.
    @Test func aRefusedFirstRecordsRepeatsAreSentOnTheirOwn() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let (count, distinct) = (60, 20)
        let harness = EngineHarness(try Self.configuration(input: try Self.input(count, distinct: distinct, in: folder)))
        try harness.start()
        let refusedCard = TestCards.pan(3)
        var refused = false
        let summary = try #require(
            try harness.runToEnd {
                harness.service.answer(with: { request in
                    if !refused, request.values?.first?.value == refusedCard {
                        refused = true
                        return .success(Response(traceId: "", success: false, failure: .init(code: ErrorCode(1006), message: "Invalid value")))
                    }
                    return .success(FakeService.success(for: request))
                })
            }?.get())
        #expect(summary.rejected == 1 && summary.rejectedByCode == ["1006": 1])
        let lines = Self.lines(harness)
        #expect(lines["R3"] == nil && lines["R23"] != nil && lines["R43"] != nil)
        let requestsForCard3 = harness.service.received.filter { $0.request.values?.first?.value == refusedCard }.map(\.seq)
        #expect(requestsForCard3.first == 3 && requestsForCard3.count >= 2 && requestsForCard3.count <= 3, "\(requestsForCard3)")
        #expect(harness.service.received.count == distinct + requestsForCard3.count - 1)
        // The other repeats share their first record's answer.
        let sameAsFirst = (distinct..<count).filter { $0 % distinct != 3 }.allSatisfy { lines["R\($0)"] == lines["R\($0 % distinct)"] }
        #expect(sameAsFirst)
    }

    /// Killed once the first 20 records' answers are stored, while 40 other cards' requests go
    /// unanswered (so the reader never reaches the repeats after them): the resumed run's repeats
    /// of the first 20 take the answers the checkpoint kept, without a request, with the first
    /// records' tokens and bfids.
    @Test func aResumedRunsRepeatsTakeTheAnswersTheCheckpointKept() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        // Cards 0-19, then 40 other cards, then cards 0-19 again.
        let input = try Self.input(80, distinct: 20, in: folder) { $0 < 20 ? $0 : $0 < 60 ? 100 + $0 : $0 - 60 }
        let first = EngineHarness(try Self.configuration(input: input))
        try first.start()
        _ = first.runToEnd(steps: 100) { first.service.answer(where: { $0.seq < 20 }) }
        #expect((0..<20).allSatisfy { first.disk.checkpoint.results[$0]?.status == .done })
        #expect(first.disk.checkpoint.remembered.count == 20)
        #expect(!first.service.received.contains { $0.seq >= 60 }, "the repeats were not read")
        let disk = first.kill()

        let second = EngineHarness(try Self.configuration(input: input), disk: disk)
        try second.start()
        let summary = try #require(try second.runToEnd { second.service.answer() }?.get())
        let sent = second.service.received.map(\.seq)
        #expect(sent.allSatisfy { $0 >= 20 && $0 < 60 }, "only the 40 other cards are sent: \(sent)")
        #expect(summary.deduplicated == 20)
        #expect(second.outputIds == (0..<80).map { "R\($0)" })
        let lines = Self.lines(second)
        let sameAsFirst = (60..<80).allSatisfy { lines["R\($0)"] == lines["R\($0 - 60)"] }
        #expect(sameAsFirst, "after the resume, a repeat has its first record's tokens and bfid")
    }

    /// A stop while a first record's request is in flight and its repeats wait: its transient
    /// failure leaves the repeats transient too (not sent during the stop), and the next run
    /// finishes all of them with one answer.
    @Test func repeatsWaitingWhenTheRunStopsAreLeftForTheNextRun() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = try Self.input(30, distinct: 10, in: folder)
        let first = EngineHarness(try Self.configuration(input: input))
        try first.start()
        // Every request answered but card 0's (record 0), which its repeats (10, 20) wait for.
        _ = first.runToEnd(steps: 40) { first.service.answer(where: { $0.seq != 0 }) }
        #expect(first.service.pending.map(\.seq) == [0] && !first.isFinished)
        first.engine.handle(.stopRequested)
        first.loop.run()
        let outcome = first.runToEnd {
            first.service.answer(with: { _ in .success(Response(traceId: "", success: false, failure: .init(code: .serverError, message: "Server error"))) })
        }
        guard case .failure(let error as JobError) = outcome else { Issue.record("not interrupted: \(String(describing: outcome))"); return }
        #expect(error.kind == .interrupted)
        let rejects = first.rejects.text.split(separator: "\n").dropFirst().map { $0.split(separator: ",", maxSplits: 4).map(String.init) }
        #expect(rejects.map { $0[2] } == ["R0", "R10", "R20"] && rejects.map { $0[3] } == ["8001", "transient", "transient"], "\(rejects)")
        #expect(rejects.dropFirst().allSatisfy { $0[4].contains("the run stopped before the record with the same values was answered") })
        #expect(first.service.received.filter { $0.seq == 10 || $0.seq == 20 }.isEmpty, "repeats are not sent while the run stops")
        let disk = first.ended()

        let second = EngineHarness(try Self.configuration(input: input), disk: disk)
        try second.start()
        let summary = try #require(try second.runToEnd { second.service.answer() }?.get())
        #expect(summary.rejected == 0 && summary.transient == 0)
        #expect(second.service.received.map(\.seq) == [0], "one request for card 0 and its repeats")
        #expect(second.outputIds == (0..<30).map { "R\($0)" })
        #expect(second.rejects.text.split(separator: "\n").count == 1, "the transient lines are gone: \(second.rejects.text)")
        let lines = Self.lines(second)
        #expect(lines["R10"] == lines["R0"] && lines["R20"] == lines["R0"])
    }
}
