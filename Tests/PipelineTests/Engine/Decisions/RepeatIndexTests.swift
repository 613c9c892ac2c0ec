import Checkpoint
@testable import Pipeline
import Testing

@Suite struct RepeatIndexTests {
    func digest(_ number: UInt8) -> RecordDigest { RecordDigest(bytes: [2] + [UInt8](repeating: number, count: 16)) }
    func texts(_ bfid: String) -> ResultTexts { ResultTexts(bfid: bfid, messageId: nil, values: ["token-" + bfid]) }

    @Test func aRepeatWaitsForItsLeaderAndTakesItsAnswer() {
        var index = RepeatIndex()
        #expect(index.lookup(digest(1), seq: 0) == .unknown)
        index.lead(digest(1), seq: 0)
        #expect(index.lookup(digest(1), seq: 3) == .waits(for: 0))
        #expect(index.lookup(digest(2), seq: 4) == .unknown)
        #expect(index.lookup(digest(1), seq: 7) == .waits(for: 0))
        // Only the leader's finishing releases them, in input order.
        #expect(index.finished(digest(1), seq: 3, texts: texts("b")) == nil)
        #expect(index.finished(digest(1), seq: 0, texts: texts("a")) == RepeatIndex.Release(texts: texts("a"), followers: [3, 7]))
        #expect(index.leaderCount == 0)
        // Later records take the answer from memory.
        #expect(index.lookup(digest(1), seq: 9) == .answered(texts("a")))
    }

    @Test func aLeaderWithoutAnAnswerReleasesItsFollowersWithout() {
        var index = RepeatIndex()
        index.lead(digest(1), seq: 0)
        _ = index.lookup(digest(1), seq: 1)
        #expect(index.finished(digest(1), seq: 0, texts: nil) == RepeatIndex.Release(texts: nil, followers: [1]))
        #expect(index.lookup(digest(1), seq: 2) == .unknown, "nothing remembered from a refusal")
    }

    @Test func memoryIsBoundedAndARecentlyUsedAnswerStays() {
        var index = RepeatIndex(capacity: 4)
        for number in 0..<4 { index.remember(digest(UInt8(number)), texts("\(number)")) }
        // The fifth starts a new generation: the four are older, still found (and moved up).
        index.remember(digest(4), texts("4"))
        #expect(index.lookup(digest(0), seq: 10) == .answered(texts("0")))
        for number in 5..<8 { index.remember(digest(UInt8(number)), texts("\(number)")) }
        // The newer generation (4, 0, 5, 6) was full at 7: 1, 2 and 3 are gone; 0 stays.
        #expect(index.lookup(digest(1), seq: 11) == .unknown)
        #expect(index.lookup(digest(0), seq: 12) == .answered(texts("0")))
        #expect(index.lookup(digest(7), seq: 13) == .answered(texts("7")))
    }
}
