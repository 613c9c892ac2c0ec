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
        guard quoted || needsQuotes(bytes, delimiter: delimiter) else {
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

    /// Whether `bytes` hold the delimiter, a quote, a CR or an LF: eight bytes at a time (a
    /// token's or a bfid's bytes hold none, and every byte of them is looked at).
    static func needsQuotes(_ bytes: UnsafeRawBufferPointer, delimiter: UInt8) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        // A byte of `word` equal to `byte` gives a zero byte in `word ^ pattern`, which the
        // classic test finds (a borrow may also flag a byte above it: only "any" is asked here).
        @inline(__always) func has(_ word: UInt64, _ byte: UInt8) -> Bool {
            let x = word ^ (ones &* UInt64(byte))
            return (x &- ones) & ~x & highs != 0
        }
        var index = 0
        if let base = bytes.baseAddress {
            while index + 8 <= bytes.count {
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                if has(word, delimiter) || has(word, UInt8(ascii: "\"")) || has(word, 0x0A) || has(word, 0x0D) { return true }
                index += 8
            }
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == delimiter || byte == UInt8(ascii: "\"") || byte == 0x0A || byte == 0x0D { return true }
            index += 1
        }
        return false
    }
}
