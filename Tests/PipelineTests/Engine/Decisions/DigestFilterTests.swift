import Checkpoint
@testable import Pipeline
import ShieldConex
import Testing

@Suite struct DigestFilterTests {
    /// Version-2 digests from a seeded stream (``SplitMix64``'s words).
    static func digests(_ count: Int, seed: UInt64) -> [RecordDigest] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            var bytes: [UInt8] = [2]
            for word in [random.next(), random.next()] { for index in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: word >> (8 * UInt64(index)))) } }
            return RecordDigest(bytes: bytes)
        }
    }

    @Test func everyDigestPutInIsFoundAndFewOthersAre() {
        var filter = DigestFilter()
        let kept = Self.digests(200_000, seed: 1)
        for digest in kept { filter.insert(digest) }
        #expect(kept.allSatisfy { filter.mayContain($0) }, "no false negative")
        let others = Self.digests(100_000, seed: 2)
        let falsePositives = others.filter { filter.mayContain($0) }.count
        #expect(falsePositives < 100, "\(falsePositives) of 100,000 digests never put in were taken for kept")
    }
}
