#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOWebSocket

/// WebSocket masking keys from the system's secure random source, as RFC 6455 §5.3 requires
/// ("derived from a strong source of entropy").
///
/// `WebSocketMaskingKey.random()` makes one `getrandom` system call per frame (DESIGN.md: a large
/// share of the client's CPU per message). This takes 4 KiB from the kernel (`getrandom`) at a time (a
/// thousand keys), so the keys are as unpredictable as the kernel's and cost no system call per
/// frame. One generator per connection, used on its event loop.
public struct MaskingKeyGenerator: Sendable {
    public static let bufferSize = 4096

    private var buffer: [UInt8]
    private var next: Int

    public init() {
        buffer = [UInt8](repeating: 0, count: Self.bufferSize)
        next = Self.bufferSize
    }

    /// The next masking key: four fresh bytes of the buffer, refilled from the kernel when spent.
    public mutating func nextMaskingKey() -> WebSocketMaskingKey {
        if next + 4 > buffer.count { refill() }
        let start = next
        next += 4
        let word = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: start, as: UInt32.self) }
        // Through `random(using:)`, which is inlinable and so specialised here (the Collection
        // initializer is generic across modules, and costs more than the key is worth).
        var source = OneWord(word: UInt64(word))
        return .random(using: &source)
    }

    /// Hands out one word of the buffer: a full-range random `UInt32` takes exactly one.
    private struct OneWord: RandomNumberGenerator {
        var word: UInt64
        mutating func next() -> UInt64 { word }
    }

    /// How many keys have been handed out of the current buffer (for tests).
    public var keysLeftInBuffer: Int { (buffer.count - next) / 4 }

    private mutating func refill() {
        buffer.withUnsafeMutableBytes { raw in Self.fillSecurely(raw) }
        next = 0
    }

    /// Fills `raw` from the kernel's CSPRNG; a source that fails is a broken system, not a
    /// condition to work around with weaker randomness.
    static func fillSecurely(_ raw: UnsafeMutableRawBufferPointer) {
        #if canImport(Darwin)
        arc4random_buf(raw.baseAddress!, raw.count)
        #else
        // getentropy is getrandom(2) in pieces of at most 256 bytes (glibc 2.25+, musl): sixteen
        // calls per 4 KiB, a thousand keys.
        var filled = 0
        while filled < raw.count {
            let count = min(256, raw.count - filled)
            guard getentropy(raw.baseAddress! + filled, count) == 0 else {
                if errno == EINTR { continue }
                fatalError("getentropy failed (errno \(errno)): no secure random source for WebSocket masking keys")
            }
            filled += count
        }
        #endif
    }
}
