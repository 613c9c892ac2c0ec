/// Makes traceIds cheaply: a random per-connection prefix and a counter, formatted as a GUID
/// (`8-4-4-4-12` hex digits), as the spec recommends. Unique per connection by construction and
/// across connections with overwhelming probability; parsing one back gives the counter, so
/// responses are matched without hashing strings.
public struct TraceIDGenerator: Sendable {
    public let prefix: UInt64
    private var counter: UInt64 = 0
    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    public init<R: RandomNumberGenerator>(using generator: inout R) {
        self.prefix = generator.next()
    }

    public init() {
        var generator = SystemRandomNumberGenerator()
        self.init(using: &generator)
    }

    /// The next traceId and the number it carries.
    public mutating func next() -> (id: UInt64, traceId: String) {
        let id = nextCounter()
        return (id, Self.format(prefix: prefix, counter: id))
    }

    /// The number the next traceId carries; ``write(_:to:)`` writes that traceId's text (no
    /// `String` per request on the hot path).
    public mutating func nextCounter() -> UInt64 {
        counter &+= 1
        return counter
    }

    /// Appends the 36 characters of the traceId that carries `counter`.
    public func write(_ counter: UInt64, to bytes: inout [UInt8]) {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: 36))
        bytes.withUnsafeMutableBufferPointer { buffer in
            Self.format(prefix: prefix, counter: counter, into: UnsafeMutableBufferPointer(rebasing: buffer[start..<(start + 36)]))
        }
    }

    static func format(prefix: UInt64, counter: UInt64) -> String {
        String(unsafeUninitializedCapacity: 36) { buffer in
            format(prefix: prefix, counter: counter, into: buffer)
            return 36
        }
    }

    /// Writes the 36 characters of the traceId that carries `counter` at the start of `buffer`.
    func write(_ counter: UInt64, into buffer: UnsafeMutableBufferPointer<UInt8>) {
        Self.format(prefix: prefix, counter: counter, into: buffer)
    }

    private static func format(prefix: UInt64, counter: UInt64, into buffer: UnsafeMutableBufferPointer<UInt8>) {
        var position = 0
        func put(_ value: UInt64, digits: Int) {
            var shift = (digits - 1) * 4
            for _ in 0..<digits {
                buffer[position] = hex[Int((value >> UInt64(shift)) & 0xF)]
                position += 1
                shift -= 4
            }
        }
        func dash() {
            buffer[position] = UInt8(ascii: "-")
            position += 1
        }
        put(prefix >> 32, digits: 8); dash()
        put(prefix >> 16, digits: 4); dash()
        put(prefix, digits: 4); dash()
        put(counter >> 48, digits: 4); dash()
        put(counter, digits: 12)
    }

    /// The counter of a traceId made by this generator, or `nil` for any other string.
    public func counter(of traceId: String) -> UInt64? {
        var traceId = traceId
        return traceId.withUTF8 { counter(ofUTF8: UnsafeRawBufferPointer($0)) }
    }

    /// The counter of a traceId (as its UTF-8 bytes) made by this generator, or `nil`.
    public func counter(ofUTF8 bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard bytes.count == 36, bytes[8] == UInt8(ascii: "-"), bytes[13] == UInt8(ascii: "-"), bytes[18] == UInt8(ascii: "-"),
              bytes[23] == UInt8(ascii: "-")
        else { return nil }
        // 32 hex digits in five runs; any other byte makes a nibble of 0xFF, which the OR catches.
        var high: UInt64 = 0
        var low: UInt64 = 0
        var bad: UInt8 = 0
        func take(_ range: Range<Int>, into value: inout UInt64) {
            for offset in range {
                let nibble = Self.nibbles[Int(bytes[offset])]
                bad |= nibble
                value = value << 4 | UInt64(nibble & 0x0F)
            }
        }
        take(0..<8, into: &high)
        take(9..<13, into: &high)
        take(14..<18, into: &high)
        take(19..<23, into: &low)
        take(24..<36, into: &low)
        return bad & 0xF0 == 0 && high == prefix ? low : nil
    }

    /// Each byte's value as a hex digit (either case), or 0xFF.
    private static let nibbles: [UInt8] = (0...255).map { byte -> UInt8 in
        switch UInt8(byte) {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt8(byte) - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt8(byte) - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt8(byte) - UInt8(ascii: "A") + 10
        default: 0xFF
        }
    }
}
