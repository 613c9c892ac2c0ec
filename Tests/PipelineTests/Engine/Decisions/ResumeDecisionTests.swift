import Checkpoint
import Testing

@testable import Pipeline

/// Where a run takes up a job, for every combination of what the checkpoint and the files say.
@Suite struct ResumeDecisionTests {
    static let committed = CommitPoint(seq: 99, inputOffset: 5_000, inputLine: 102, outputOffset: 8_000, rejectsOffset: 300)
    static let written = CommitPoint(seq: 149, inputOffset: 7_500, inputLine: 152, outputOffset: 12_000, rejectsOffset: 400)
    static let shard = RecordPosition(seq: 1_000, offset: 50_000, line: 1_002)

    @Test func aFreshJobStartsAtTheInputsOrTheShardsFirstRecord() {
        let fresh = ResumeDecision.decide(committed: nil, written: nil, output: .missing, rejects: .missing)
        #expect(fresh.point == nil && fresh.readFrom == nil && fresh.firstSeq == 0 && fresh.adoptedWritten == nil && !fresh.filesLostLines)
        let shard = ResumeDecision.decide(committed: nil, written: nil, output: .missing, rejects: .missing, shardStart: Self.shard)
        #expect(shard.point == nil && shard.readFrom == Self.shard && shard.firstSeq == 1_000)
    }

    @Test func aCommitPointAloneIsWhereTheRunTakesUp() {
        for shardStart in [nil, Self.shard] {
            let decision = ResumeDecision.decide(committed: Self.committed, written: nil, output: .regular(8_000), rejects: .regular(300), shardStart: shardStart)
            #expect(decision.point == Self.committed && decision.firstSeq == 100 && decision.notReusedThrough == -1)
            #expect(decision.readFrom == RecordPosition(seq: 100, offset: 5_000, line: 102))
        }
    }

    /// Files that hold the written point (longer is fine: they are cut back to it; a device
    /// holds anything): it is adopted and becomes the point.
    @Test(arguments: [
        (ResumeDecision.FileLength.regular(12_000), ResumeDecision.FileLength.regular(400)),
        (.regular(20_000), .regular(900)), (.stream, .regular(400)), (.stream, .stream),
    ])
    func filesThatHoldTheWrittenPointAdoptIt(output: ResumeDecision.FileLength, rejects: ResumeDecision.FileLength) {
        for committed in [nil, Self.committed] {
            let decision = ResumeDecision.decide(committed: committed, written: Self.written, output: output, rejects: rejects)
            #expect(decision.point == Self.written && decision.adoptedWritten == Self.written && !decision.filesLostLines)
            #expect(decision.firstSeq == 150 && decision.readFrom == RecordPosition(seq: 150, offset: 7_500, line: 152))
            #expect(decision.notReusedThrough == -1)
        }
    }

    /// Either file short of the written point, missing or not a file: the lines were lost; the
    /// run takes up from the commit point and reuses nothing stored up to the written point.
    @Test(arguments: [
        (ResumeDecision.FileLength.regular(11_999), ResumeDecision.FileLength.regular(400)), (.regular(12_000), .regular(399)),
        (.missing, .regular(400)), (.regular(12_000), .missing), (.other, .stream),
    ])
    func filesShortOfTheWrittenPointFallBackToTheCommitPoint(output: ResumeDecision.FileLength, rejects: ResumeDecision.FileLength) {
        let decision = ResumeDecision.decide(committed: Self.committed, written: Self.written, output: output, rejects: rejects)
        #expect(decision.point == Self.committed && decision.adoptedWritten == nil && decision.filesLostLines)
        #expect(decision.firstSeq == 100 && decision.notReusedThrough == 149)
        let fresh = ResumeDecision.decide(committed: nil, written: Self.written, output: output, rejects: rejects, shardStart: Self.shard)
        #expect(fresh.point == nil && fresh.readFrom == Self.shard && fresh.notReusedThrough == 149 && fresh.filesLostLines)
    }

    /// A written point that is not past the commit point says nothing.
    @Test func aWrittenPointBehindTheCommitPointIsIgnored() {
        let behind = CommitPoint(seq: 50, inputOffset: 2_500, inputLine: 52, outputOffset: 4_000, rejectsOffset: 200)
        let decision = ResumeDecision.decide(committed: Self.committed, written: behind, output: .missing, rejects: .missing)
        #expect(decision.point == Self.committed && decision.adoptedWritten == nil && !decision.filesLostLines && decision.notReusedThrough == -1)
    }
}
