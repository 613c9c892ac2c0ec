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
        guard bytes.count == 36 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        var digits = 0
        for (offset, byte) in bytes.enumerated() {
            if offset == 8 || offset == 13 || offset == 18 || offset == 23 {
                guard byte == UInt8(ascii: "-") else { return nil }
                continue
            }
            let nibble: UInt64
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = UInt64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = UInt64(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = UInt64(byte - UInt8(ascii: "A") + 10)
            default: return nil
            }
            if digits < 16 { high = high << 4 | nibble } else { low = low << 4 | nibble }
            digits += 1
        }
        return high == prefix ? low : nil
    }
}
