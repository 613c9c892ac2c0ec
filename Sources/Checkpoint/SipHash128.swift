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
        var state = State(self)
        state.append(bytes)
        return state.finalize()
    }

    /// The hash of a message given in pieces: the same as ``hash(_:)`` of the pieces joined,
    /// without joining them.
    struct State {
        var v0: UInt64
        var v1: UInt64
        var v2: UInt64
        var v3: UInt64
        /// Bytes not yet compressed (fewer than eight), little-endian, and how many.
        var tail: UInt64 = 0
        var tailCount = 0
        var length = 0

        init(_ key: SipHash128) {
            v0 = 0x736f_6d65_7073_6575 ^ key.k0
            v1 = 0x646f_7261_6e64_6f6d ^ key.k1 ^ 0xee
            v2 = 0x6c79_6765_6e65_7261 ^ key.k0
            v3 = 0x7465_6462_7974_6573 ^ key.k1
        }

        @inline(__always)
        private mutating func round() {
            v0 &+= v1; v1 = v1.rotated(13); v1 ^= v0; v0 = v0.rotated(32)
            v2 &+= v3; v3 = v3.rotated(16); v3 ^= v2
            v0 &+= v3; v3 = v3.rotated(21); v3 ^= v0
            v2 &+= v1; v1 = v1.rotated(17); v1 ^= v2; v2 = v2.rotated(32)
        }

        @inline(__always)
        private mutating func compress(_ m: UInt64) {
            v3 ^= m
            round()
            round()
            v0 ^= m
        }

        mutating func append(_ bytes: UnsafeRawBufferPointer) {
            let count = bytes.count
            length &+= count
            var offset = 0
            while offset + 8 <= count {
                merge(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)), count: 8)
                offset += 8
            }
            guard offset < count else { return }
            var word: UInt64 = 0
            for index in 0..<(count - offset) {
                word |= UInt64(bytes[offset + index]) << (8 * UInt64(index))
            }
            merge(word, count: count - offset)
        }

        /// Appends a 32-bit integer's four little-endian bytes.
        mutating func append(_ value: UInt32) {
            length &+= 4
            merge(UInt64(value), count: 4)
        }

        /// Adds the `count` (1...8) low bytes of `word` after the tail, compressing the tail once
        /// it holds eight.
        @inline(__always)
        private mutating func merge(_ word: UInt64, count: Int) {
            // Swift's shifts are smart: a shift by 64 gives 0, which is what is meant here.
            tail |= word << (8 * UInt64(tailCount))
            let filled = tailCount + count
            guard filled >= 8 else {
                tailCount = filled
                return
            }
            compress(tail)
            tail = word >> (8 * UInt64(8 - tailCount))
            tailCount = filled - 8
        }

        mutating func finalize() -> (UInt64, UInt64) {
            compress(UInt64(truncatingIfNeeded: length) << 56 | tail)
            v2 ^= 0xee
            for _ in 0..<4 { round() }
            let first = v0 ^ v1 ^ v2 ^ v3
            v1 ^= 0xdd
            for _ in 0..<4 { round() }
            return (first, v0 ^ v1 ^ v2 ^ v3)
        }
    }
}

extension UInt64 {
    fileprivate func rotated(_ bits: UInt64) -> UInt64 { (self << bits) | (self >> (64 - bits)) }
}
