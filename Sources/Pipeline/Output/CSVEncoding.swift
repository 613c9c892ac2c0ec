/// Writing CSV fields the way RFC 4180 wants them.
enum CSVEncoding {
    /// Appends `value` as one field, in quotes if it was quoted before or needs them now.
    static func append(_ value: String, quoted: Bool, delimiter: UInt8, to out: inout [UInt8]) {
        let bytes = value.utf8
        let needsQuotes = quoted
            || bytes.contains { $0 == delimiter || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }
        guard needsQuotes else {
            out.append(contentsOf: bytes)
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
