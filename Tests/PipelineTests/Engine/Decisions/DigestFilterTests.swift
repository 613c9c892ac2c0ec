import Checkpoint
@testable import Pipeline
import Testing

@Suite struct DigestFilterTests {
    /// Version-2 digests from a seeded stream (SplitMix64 words).
    static func digests(_ count: Int, seed: UInt64) -> [RecordDigest] {
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        return (0..<count).map { _ in
            var bytes: [UInt8] = [2]
            for word in [next(), next()] { for index in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: word >> (8 * UInt64(index)))) } }
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
