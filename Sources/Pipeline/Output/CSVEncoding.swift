import Checkpoint

/// Writing CSV fields the way RFC 4180 wants them.
enum CSVEncoding {
    /// Appends `value` as one field, in quotes if it was quoted before or needs them now.
    static func append(_ value: String, quoted: Bool, delimiter: UInt8, to out: inout [UInt8]) {
        var value = value
        // Through the string's contiguous UTF-8 (no copy for a native string): a byte loop over
        // a buffer, where `String.UTF8View` goes index by index.
        value.withUTF8 { append(UnsafeRawBufferPointer($0), quoted: quoted, delimiter: delimiter, to: &out) }
    }

    /// Appends text given as UTF-8 bytes as one field (see above).
    static func append(_ bytes: UnsafeRawBufferPointer, quoted: Bool, delimiter: UInt8, to out: inout [UInt8]) {
        var needsQuotes = quoted
        if !needsQuotes {
            for byte in bytes where byte == delimiter || byte == UInt8(ascii: "\"") || byte == 0x0A || byte == 0x0D {
                needsQuotes = true
                break
            }
        }
        guard needsQuotes else {
            out.appendRaw(bytes)
            return
        }
        out.append(UInt8(ascii: "\""))
        for byte in bytes {
            out.append(byte)
            if byte == UInt8(ascii: "\"") { out.append(byte) }
        }
        out.append(UInt8(ascii: "\""))
    }
}
