import NIOWebSocket

/// WebSocket masking keys from a xoshiro256** generator seeded once from the system's secure
/// random source.
///
/// `WebSocketMaskingKey.random()` makes one `getrandom` system call per frame; DESIGN.md measured
/// ~15% of the client's CPU per message for it. Masking exists to stop a browser script from
/// steering proxy caches (RFC 6455 §10.3); for a server-to-server client a seeded generator keeps
/// the keys unpredictable to anyone outside the process, which is what matters here.
public struct MaskingKeyGenerator: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)
    private var spare: UInt32?

    public init() {
        var system = SystemRandomNumberGenerator()
        self.init(seed: (system.next(), system.next(), system.next(), system.next()))
    }

    public init(seed: (UInt64, UInt64, UInt64, UInt64)) {
        // xoshiro must not start from all zeros.
        state = seed == (0, 0, 0, 0) ? (1, 2, 3, 4) : seed
    }

    public mutating func next() -> UInt64 {
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// The next masking key; two keys are taken from each 64-bit draw.
    public mutating func nextMaskingKey() -> WebSocketMaskingKey {
        let word: UInt32
        if let spare {
            word = spare
            self.spare = nil
        } else {
            let draw = next()
            word = UInt32(truncatingIfNeeded: draw)
            spare = UInt32(truncatingIfNeeded: draw >> 32)
        }
        return WebSocketMaskingKey([
            UInt8(truncatingIfNeeded: word), UInt8(truncatingIfNeeded: word >> 8),
            UInt8(truncatingIfNeeded: word >> 16), UInt8(truncatingIfNeeded: word >> 24),
        ])!
    }
}
