/// Finds the bytes that end or interrupt the plain part of a JSON string — `"`, `\` and the
/// control characters below 0x20 — eight bytes at a time (SWAR), for the scanner (where a string
/// ends) and the writer (what needs escaping). Most strings of a message have none until their
/// closing quote, so this loop is where reading and writing them spends its time.
enum JSONStringBytes {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    /// The index of the first byte at or after `start` that is `"`, `\` or below 0x20, or
    /// `bytes.count` when there is none.
    @inline(__always)
    static func firstSpecial(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        let count = bytes.count
        if let base = bytes.baseAddress {
            while index + 8 <= count {
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                let mask = specialMask(word)
                if mask != 0 { return index + mask.trailingZeroBitCount / 8 }
                index += 8
            }
        }
        while index < count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { return index }
            index += 1
        }
        return count
    }

    /// A mask with the high bit set in (at least) the lowest byte of `word` that is special; the
    /// bytes above the lowest special one may be flagged falsely (a borrow), which the caller never
    /// looks at: it takes the lowest.
    @inline(__always)
    static func specialMask(_ word: UInt64) -> UInt64 {
        let quote = word ^ (ones &* UInt64(UInt8(ascii: "\"")))
        let backslash = word ^ (ones &* UInt64(UInt8(ascii: "\\")))
        let zeroQuote = (quote &- ones) & ~quote
        let zeroBackslash = (backslash &- ones) & ~backslash
        let control = (word &- ones &* 0x20) & ~word
        return (zeroQuote | zeroBackslash | control) & highs
    }
}
