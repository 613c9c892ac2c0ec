import Checkpoint
@testable import Pipeline
import Testing

@Suite struct StoredResultReuseTests {
    static func decide(_ stored: RecordResult, plaintext: Bool = false, values: Int? = 2, matches: Bool = true) -> StoredResultReuse {
        StoredResultReuse.decide(stored, answersPlaintext: plaintext, mappedValues: values, digestMatches: { matches })
    }

    @Test func eachStoredResultIsTakenOrAskedAgainForItsReason() {
        let done = RecordResult(seq: 0, status: .done, bfid: "b", tokens: ["t1", "t2"])
        #expect(Self.decide(done) == .take)
        #expect(Self.decide(RecordResult(seq: 0, status: .sent)) == .outcomeUnknown, "a read is never sent twice")
        #expect(Self.decide(RecordResult(seq: 0, status: .transient, errorCode: "transient")) == .askAgain)
        #expect(Self.decide(done, plaintext: true) == .askAgain, "plaintext is never stored: asked again")
        #expect(Self.decide(done, values: 3) == .askAgain, "a result that no longer fits the record")
        #expect(Self.decide(RecordResult(seq: 0, status: .rejected, errorCode: "1006"), values: nil) == .take, "a reject of a row that does not map")
        var digested = done
        digested.digest = [1, 2, 3]
        #expect(Self.decide(digested, matches: false) == .askAgain, "the record was edited since")
        #expect(Self.decide(digested, matches: true) == .take)
    }
}

@Suite struct GroupStepTests {
    /// A record whose values name a field twice goes as one request per group; the answers put
    /// each token back in its place, and the bfids are joined in order.
    @Test func theGroupsOfARecordAreAnsweredOneAfterTheOther() throws {
        let record = InputRecord(position: RecordPosition(seq: 0, offset: 0, line: 2), bytes: [], ending: .lf, content: .csv([]))
        var slot = EngineSlot(record: record, after: record.position)
        slot.mapped = MappedRecord(record: record, values: [.init(name: "card", value: "a"), .init(name: "card", value: "b"), .init(name: "cvv", value: "c")], targets: [])
        slot.groups = [[0, 2], [1]]
        guard case .sendNext = slot.answered(ResultTexts(bfid: "B1", messageId: "m1", values: ["ta", "tc"])) else { Issue.record("finished early"); return }
        #expect(slot.group == 1)
        guard case .finished(let texts) = slot.answered(ResultTexts(bfid: "B2", messageId: "m2", values: ["tb"])) else { Issue.record("not finished"); return }
        #expect(texts.values == ["ta", "tb", "tc"])
        #expect(texts.bfid == "B1\(MappedRecord.bfidSeparator)B2")
    }
}
