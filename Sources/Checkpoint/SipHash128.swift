/// SipHash-2-4 with a 128-bit output (Aumasson and Bernstein; the reference implementation's
/// `siphash` with `outlen` 16): a keyed pseudorandom function for short inputs, a few dozen
/// nanoseconds for a record's values where an HMAC-SHA256 through swift-crypto costs a microsecond.
/// Without the 128-bit key its outputs say nothing about its inputs.
struct SipHash128: Sendable, Hashable {
    let k0: UInt64
    let k1: UInt64

    init(key: [UInt8]) {
        precondition(key.count >= 16, "a SipHash key has 16 bytes")
        k0 = Self.word(key, 0)
        k1 = Self.word(key, 8)
    }

    private static func word(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
    }

    func hash(_ bytes: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        var v0: UInt64 = 0x736f_6d65_7073_6575 ^ k0
        var v1: UInt64 = 0x646f_7261_6e64_6f6d ^ k1
        var v2: UInt64 = 0x6c79_6765_6e65_7261 ^ k0
        var v3: UInt64 = 0x7465_6462_7974_6573 ^ k1
        v1 ^= 0xee

        @inline(__always) func round() {
            v0 &+= v1; v1 = v1.rotated(13); v1 ^= v0; v0 = v0.rotated(32)
            v2 &+= v3; v3 = v3.rotated(16); v3 ^= v2
            v0 &+= v3; v3 = v3.rotated(21); v3 ^= v0
            v2 &+= v1; v1 = v1.rotated(17); v1 ^= v2; v2 = v2.rotated(32)
        }

        let count = bytes.count
        let whole = count & ~7
        var offset = 0
        while offset < whole {
            let m = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            v3 ^= m
            round()
            round()
            v0 ^= m
            offset += 8
        }
        var last = UInt64(truncatingIfNeeded: count) << 56
        for index in 0..<(count - whole) {
            last |= UInt64(bytes[whole + index]) << (8 * UInt64(index))
        }
        v3 ^= last
        round()
        round()
        v0 ^= last

        v2 ^= 0xee
        for _ in 0..<4 { round() }
        let first = v0 ^ v1 ^ v2 ^ v3
        v1 ^= 0xdd
        for _ in 0..<4 { round() }
        return (first, v0 ^ v1 ^ v2 ^ v3)
    }
}

extension UInt64 {
    fileprivate func rotated(_ bits: UInt64) -> UInt64 { (self << bits) | (self >> (64 - bits)) }
}
