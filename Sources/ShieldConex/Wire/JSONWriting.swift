import NIOCore

/// Appends JSON text to a byte array. Messages are composed here and copied into a `ByteBuffer`
/// once: a `ByteBuffer` write per byte costs far more than an array append.
public struct JSONWriter {
    public var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inlinable
    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    @inlinable
    public mutating func byte(_ byte: UInt8) {
        bytes.append(byte)
    }

    /// `"key":` for a key that needs no escaping.
    @inlinable
    public mutating func key(_ key: StaticString) {
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    /// `,"key":` (no comma for the `first` member of an object, which it then clears).
    @inlinable
    public mutating func member(_ key: StaticString, first: inout Bool) {
        if first { first = false } else { bytes.append(UInt8(ascii: ",")) }
        self.key(key)
    }

    /// A JSON string literal, quotes included, escaped as RFC 8259 requires.
    public mutating func string(_ string: String) {
        bytes.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { appendEscaping(UnsafeRawBufferPointer($0)) }
        bytes.append(UInt8(ascii: "\""))
    }

    /// A JSON string literal of text given as UTF-8 bytes, quotes included.
    public mutating func string(utf8 raw: UnsafeRawBufferPointer) {
        bytes.append(UInt8(ascii: "\""))
        appendEscaping(raw)
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func appendEscaping(_ raw: UnsafeRawBufferPointer) {
        var clean = 0
        while true {
            let special = JSONStringBytes.firstSpecial(in: raw, from: clean)
            bytes.appendRaw(UnsafeRawBufferPointer(rebasing: raw[clean..<special]))
            guard special < raw.count else { break }
            appendEscaped(raw[special])
            clean = special + 1
        }
    }

    private mutating func appendEscaped(_ byte: UInt8) {
        let hex: StaticString = "0123456789abcdef"
        switch byte {
        case UInt8(ascii: "\""): raw("\\\"")
        case UInt8(ascii: "\\"): raw("\\\\")
        case 0x0A: raw("\\n")
        case 0x0D: raw("\\r")
        case 0x09: raw("\\t")
        case 0x08: raw("\\b")
        case 0x0C: raw("\\f")
        default:
            raw("\\u00")
            hex.withUTF8Buffer { digits in
                bytes.append(digits[Int(byte >> 4)])
                bytes.append(digits[Int(byte & 0x0F)])
            }
        }
    }

    public mutating func bool(_ value: Bool) {
        raw(value ? "true" : "false")
    }

    public mutating func integer<I: BinaryInteger>(_ value: I) {
        bytes.append(contentsOf: String(value).utf8)
    }

    /// `[{"name":...,"value":...},...]`
    public mutating func values(_ values: [FieldValue]) {
        bytes.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            raw("{\"name\":")
            string(value.name)
            raw(",\"value\":")
            string(value.value)
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: "]"))
    }
}

extension ByteBuffer {
    /// Writes `string` as a JSON string literal, quotes included.
    public mutating func writeJSONString(_ string: String) {
        var writer = JSONWriter(capacity: string.utf8.count + 8)
        writer.string(string)
        writeBytes(writer.bytes)
    }
}
