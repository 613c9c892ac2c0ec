import Checkpoint
import Foundation
import NIOCore
@testable import Pipeline
import ShieldConex
import Testing
import TestSupport

/// A retokenize record in the real engine driver, in-process, on virtual time: its detokenize
/// (under the old template, with its bfid), then, once that is answered, its tokenize of the
/// plaintext (under the new template, with no bfid); the plaintext only in the record's slot.
@Suite struct EngineRetokenizeTests {
    /// `count` records of a tokenized file: old tokens `O` + the value reversed, bfid ``oldBfid(_:)``;
    /// every seventh record's bfid ends in `x` (the fake service's 1403).
    static func input(_ count: Int, in folder: TestFolder) throws -> String {
        let path = folder.path("tokenized.csv")
        var text = "id,card_number,card_exp,card_cvv,bfid\n"
        for index in 0..<count {
            let cvv = String(100 + index % 900)
            text += "R\(index),O\(String(TestCards.pan(index).reversed())),1229,O\(String(cvv.reversed())),\(Self.oldBfid(index))\n"
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Record `index`'s old bfid (30 characters at least, as the service's are).
    static func oldBfid(_ index: Int) -> String {
        "old-bfid-of-the-record-number-\(index)" + (index % 7 == 3 ? "x" : "")
    }

    static func configuration(input: String) throws -> BatchJob.Configuration {
        var configuration = try EngineHarness.configuration(input: input, action: .retokenize)
        configuration.fromTemplateRef = "old"
        configuration.templateRef = "new"
        return configuration
    }

    /// The fake service's answers: a detokenize gives back the values its `O` tokens stand for
    /// (1403 for a bfid ending in `x`); a tokenize, `T` + the value reversed and bfid `B` + the
    /// reference.
    static func answer(_ request: Request) -> Result<Response, any Error> {
        guard request.action == .detokenize else { return .success(FakeService.success(for: request)) }
        if request.bfid?.hasSuffix("x") ?? false {
            return .success(Response(traceId: "", success: false, failure: .init(code: .detokenizationPeriodViolated, message: "Detokenization period end violated")))
        }
        let plain = request.values?.map { FieldValue(name: $0.name, value: String($0.value.dropFirst().reversed())) }
        return .success(Response(traceId: "", action: "tokenization-detokenize", messageId: "d", success: true, values: plain))
    }

    /// Each record's detokenize goes first, with its bfid and old tokens; its tokenize goes once
    /// that is answered, with the plaintext and no bfid; the output has the new tokens, the new
    /// bfid in place and the old one after; 1403 records are rejects; nothing the checkpoint
    /// stored holds a value.
    @Test func aRecordIsDetokenizedThenItsPlaintextTokenized() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let count = 40
        let harness = EngineHarness(try Self.configuration(input: try Self.input(count, in: folder)))
        var order: [String] = []
        var tokenizeValues: [Int: [String]] = [:]
        var detokenizeBfids: [Int: String] = [:]
        harness.service.onReceive = { received in
            let request = received.request
            order.append("\(request.action == .detokenize ? "d" : "t")\(received.seq)")
            if request.action == .tokenize {
                #expect(request.bfid == nil && request.templateRef == "new")
                tokenizeValues[received.seq] = request.values?.map(\.value)
            } else {
                detokenizeBfids[received.seq] = request.bfid
            }
        }
        try harness.start()
        let outcome = harness.runToEnd { harness.service.answer(with: Self.answer) }
        let summary = try #require(try outcome?.get())
        let refused = (0..<count).filter { $0 % 7 == 3 }
        #expect(summary.done == count - refused.count && summary.rejected == refused.count && summary.rejectedByCode == ["1403": refused.count])
        #expect(summary.detokenizedToRetokenize == count - refused.count)
        for seq in 0..<count {
            let detokenized = order.firstIndex(of: "d\(seq)")
            let tokenized = order.firstIndex(of: "t\(seq)")
            #expect(detokenized != nil && detokenizeBfids[seq] == Self.oldBfid(seq))
            if refused.contains(seq) {
                #expect(tokenized == nil, "a refused detokenize is not followed by a tokenize")
            } else {
                #expect(tokenized! > detokenized!, "record \(seq): the tokenize after the detokenize's answer")
                #expect(tokenizeValues[seq] == [TestCards.pan(seq), String(100 + seq % 900)], "the plaintext is sent")
            }
        }
        let lines = harness.output.text.split(separator: "\n")
        #expect(lines.first == "id,card_number,card_exp,card_cvv,bfid,old_bfid")
        #expect(lines[1] == "R0,T\(String(TestCards.pan(0).reversed())),1229,T001,Bjob:0,\(Self.oldBfid(0))")
        #expect(harness.outputIds == (0..<count).filter { !refused.contains($0) }.map { "R\($0)" })
        #expect(harness.rejects.text.split(separator: "\n").dropFirst().allSatisfy { $0.contains(",1403,") })
        // The checkpoint holds the new tokens (as a tokenize job's would), never a value.
        let stored = harness.disk.checkpoint.results.values.flatMap { $0.texts.values } .joined(separator: " ")
        let plaintextStored = (0..<count).contains { stored.contains(TestCards.pan($0)) }
        #expect(!plaintextStored)
    }

    /// A tokenize that fails transiently is sent again with the same plaintext (not
    /// detokenized again); a run killed between a record's two answers detokenizes it again on
    /// resume (the plaintext was never stored), and the two runs' output is one run's.
    @Test func aKillBetweenTheTwoAnswersDetokenizesAgain() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let count = 30
        let input = try Self.input(count, in: folder)
        let whole = EngineHarness(try Self.configuration(input: input))
        try whole.start()
        _ = whole.runToEnd { whole.service.answer(with: Self.answer) }
        let expected = whole.output.text

        let first = EngineHarness(try Self.configuration(input: input))
        try first.start()
        // Every answer given, but the first tokenize of records 0 and 1 refused with 8001
        // (transient: sent again after a backoff); once both went again, the tokenizes are left
        // unanswered, and the run is killed with records between their two answers.
        var failedOnce: Set<Int> = []
        _ = first.runToEnd(steps: 200) {
            let retried = first.service.received.filter { $0.request.action == .tokenize && $0.seq < 2 }.count == 4
            first.service.answer(where: { $0.request.action == .detokenize || !retried }) { request in
                guard request.action == .tokenize, let seq = Int(request.reference!.split(separator: ":").last!), seq < 2,
                    failedOnce.insert(seq).inserted
                else { return Self.answer(request) }
                return .success(Response(traceId: "", success: false, failure: .init(code: .serverError, message: "Server error")))
            }
        }
        let sentFirst = first.service.received.filter { $0.seq < 2 }.map { "\($0.request.action == .detokenize ? "d" : "t")\($0.seq)" }
        #expect(sentFirst.sorted() == ["d0", "d1", "t0", "t0", "t1", "t1"], "a transient tokenize goes again, not its detokenize: \(sentFirst)")
        let waiting = Set(first.service.pending.filter { $0.request.action == .tokenize }.map(\.seq))
        #expect(!waiting.isEmpty, "records wait between their two answers")
        #expect(first.isFinished == false)
        let disk = first.kill()
        let unfinished = Set((0..<count).filter { disk.checkpoint.results[$0] == nil })
        #expect(waiting.isSubset(of: unfinished))

        let second = EngineHarness(try Self.configuration(input: input), disk: disk)
        try second.start()
        let outcome = second.runToEnd { second.service.answer(with: Self.answer) }
        #expect(try outcome?.get() != nil)
        let again = Set(second.service.received.filter { $0.request.action == .detokenize }.map(\.seq))
        #expect(again == unfinished, "exactly the records without a stored result are detokenized again")
        let sameOutput = second.output.text == expected
        #expect(sameOutput, "the two runs' output is one run's")
    }
}
