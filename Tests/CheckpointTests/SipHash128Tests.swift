import Testing

@testable import Checkpoint

/// SipHash-2-4-128 against the reference implementation's vectors (key 00..0f, message
/// 00..len-1), and the record digest's versions.
struct SipHash128Tests {
    let key = Array(UInt8(0)...UInt8(15))

    func hash(_ length: Int) -> [UInt8] {
        let message = (0..<length).map { UInt8($0) }
        let (first, second) = message.withUnsafeBytes { SipHash128(key: key).hash($0) }
        return (0..<8).map { UInt8(truncatingIfNeeded: first >> (8 * UInt64($0))) } + (0..<8).map { UInt8(truncatingIfNeeded: second >> (8 * UInt64($0))) }
    }

    @Test func referenceVectors() {
        #expect(hash(0) == [0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6, 0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55, 0x02, 0x93])
        #expect(hash(1) == [0xda, 0x87, 0xc1, 0xd8, 0x6b, 0x99, 0xaf, 0x44, 0x34, 0x76, 0x59, 0x11, 0x9b, 0x22, 0xfc, 0x45])
    }

    /// The framing that stored digests were taken over: each part's length as four
    /// little-endian bytes, then its bytes (a resume recomputes it, so it must not change).
    @Test func partsAreFramedWithTheirLittleEndianLength() {
        var framed: [UInt8] = []
        DigestKey.appendPart([UInt8]([1, 2, 3]), to: &framed)
        DigestKey.appendPart([UInt8](), to: &framed)
        DigestKey.appendPart([UInt8](repeating: 9, count: 0x1_0203), to: &framed)
        #expect(Array(framed.prefix(15)) == [3, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 0x03, 0x02, 0x01, 0x00])
        #expect(framed.count == 7 + 4 + 4 + 0x1_0203)
    }

    /// Parts given one at a time make the digest of the framed buffer, however they are cut.
    @Test func partsGivenOneAtATimeMakeTheDigestOfTheFramedParts() {
        let key = DigestKey(secret: "test")
        var random = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let parts = (0..<Int.random(in: 0...7, using: &random)).map { _ in
                (0..<Int.random(in: 0...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            }
            var framed: [UInt8] = []
            for part in parts { DigestKey.appendPart(part, to: &framed) }
            let streamed = key.recordDigest { digest in
                for part in parts { part.withUnsafeBytes { digest.append($0) } }
            }
            #expect(streamed == key.recordDigestValue(framed: framed))
        }
        // And bytes appended in pieces of any size hash as one buffer.
        let message = (0..<100).map { UInt8($0) }
        let whole = message.withUnsafeBytes { SipHash128(key: self.key).hash($0) }
        for cut in 0...message.count {
            var state = SipHash128.State(SipHash128(key: self.key))
            message.withUnsafeBytes { bytes in
                state.append(UnsafeRawBufferPointer(rebasing: bytes[..<cut]))
                state.append(UnsafeRawBufferPointer(rebasing: bytes[cut...]))
            }
            #expect(state.finalize() == whole)
        }
    }

    @Test func recordDigestsOfBothVersionsAreRecognised() {
        let key = DigestKey(secret: "test")
        var framed: [UInt8] = []
        DigestKey.appendPart(Array("card_number".utf8), to: &framed)
        DigestKey.appendPart(Array("4000000000000002".utf8), to: &framed)
        let current = key.recordDigest(framed: framed)
        #expect(current.count == 17 && current[0] == 2)
        #expect(key.recordDigestValue(framed: framed).bytes == current, "the value is the same digest as the bytes")
        #expect(key.recordDigest(current, matches: framed))
        #expect(key.recordDigest(key.digest(framed: framed), matches: framed), "a digest of a checkpoint written before version 2")
        var other: [UInt8] = []
        DigestKey.appendPart(Array("card_number".utf8), to: &other)
        DigestKey.appendPart(Array("4000000000000010".utf8), to: &other)
        #expect(!key.recordDigest(current, matches: other))
        #expect(DigestKey(secret: "another").recordDigest(framed: framed) != current, "another key, another digest")
    }
}
