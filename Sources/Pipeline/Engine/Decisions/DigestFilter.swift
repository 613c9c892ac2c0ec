import Checkpoint

/// A Bloom filter of record digests: whether a digest may have been kept (then the checkpoint is
/// asked) or surely was not (no lookup). 2^25 bits (4 MiB) and three probes: about 20% false
/// positives at 10,000,000 digests (a lookup that finds nothing), under 0.1% at 1,000,000. The digests are keyed: the
/// filter says nothing of the values.
struct DigestFilter {
    private static let bitCount: UInt64 = 1 << 25
    private var words: [UInt64]

    init() {
        words = [UInt64](repeating: 0, count: Int(Self.bitCount / 64))
    }

    /// The `probe`th bit of a digest's words (double hashing).
    private static func bit(_ probe: UInt64, _ first: UInt64, _ second: UInt64) -> UInt64 {
        (first &+ probe &* (second | 1)) & (bitCount - 1)
    }

    mutating func insert(_ digest: RecordDigest) {
        let (first, second) = digest.words
        for probe in 0..<UInt64(3) {
            let bit = Self.bit(probe, first, second)
            words[Int(bit >> 6)] |= 1 << (bit & 63)
        }
    }

    func mayContain(_ digest: RecordDigest) -> Bool {
        let (first, second) = digest.words
        for probe in 0..<UInt64(3) {
            let bit = Self.bit(probe, first, second)
            if words[Int(bit >> 6)] & (1 << (bit & 63)) == 0 { return false }
        }
        return true
    }
}
