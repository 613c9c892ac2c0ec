import NIOCore

extension ByteBuffer {
    /// Writes `string` as a JSON string literal, quotes included, escaping as RFC 8259 requires.
    @inlinable
    public mutating func writeJSONString(_ string: String) {
        writeInteger(UInt8(ascii: "\""))
        var needsEscaping = false
        for byte in string.utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            needsEscaping = true
            break
        }
        if needsEscaping {
            writeEscapedJSONBytes(string.utf8)
        } else {
            writeString(string)
        }
        writeInteger(UInt8(ascii: "\""))
    }

    @usableFromInline
    mutating func writeEscapedJSONBytes(_ bytes: String.UTF8View) {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): writeStaticString("\\\"")
            case UInt8(ascii: "\\"): writeStaticString("\\\\")
            case 0x0A: writeStaticString("\\n")
            case 0x0D: writeStaticString("\\r")
            case 0x09: writeStaticString("\\t")
            case 0x08: writeStaticString("\\b")
            case 0x0C: writeStaticString("\\f")
            case 0..<0x20:
                writeStaticString("\\u00")
                writeInteger(hex[Int(byte >> 4)])
                writeInteger(hex[Int(byte & 0x0F)])
            default:
                writeInteger(byte)
            }
        }
    }

    /// Writes `"key":` (the key must not need escaping).
    @inlinable
    mutating func writeJSONKey(_ key: StaticString) {
        writeInteger(UInt8(ascii: "\""))
        writeStaticString(key)
        writeStaticString("\":")
    }

    @inlinable
    mutating func writeJSONBool(_ value: Bool) {
        writeStaticString(value ? "true" : "false")
    }

    @inlinable
    mutating func writeJSONInteger<I: BinaryInteger>(_ value: I) {
        writeString(String(value))
    }

    mutating func writeJSONValues(_ values: [FieldValue]) {
        writeInteger(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { writeInteger(UInt8(ascii: ",")) }
            writeStaticString("{\"name\":")
            writeJSONString(value.name)
            writeStaticString(",\"value\":")
            writeJSONString(value.value)
            writeInteger(UInt8(ascii: "}"))
        }
        writeInteger(UInt8(ascii: "]"))
    }
}
