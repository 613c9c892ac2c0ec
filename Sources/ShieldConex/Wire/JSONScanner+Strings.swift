/// Strings and keys: read in place when they hold no escape, decoded when they do.
extension JSONScanner {
    /// Reads an object key: its bytes where it has no escape, else its decoded text.
    mutating func readKey() throws(SyntaxError) -> JSONKey {
        let (plain, start) = try readPlainString()
        if let plain { return JSONKey(bytes: plain, unescaped: nil) }
        return JSONKey(bytes: UnsafeRawBufferPointer(start: nil, count: 0), unescaped: try readEscapedString(from: start))
    }

    /// Reads a string up to its first byte that is not plain text: its bytes in the message when
    /// that is its closing quote (the scanner is then past it), or `nil` when it is an escape (the
    /// scanner is at it, and `start` is where the text began, for ``readEscapedString(from:)``).
    @inline(__always)
    mutating func readPlainString() throws(SyntaxError) -> (plain: UnsafeRawBufferPointer?, start: Int) {
        try expect(UInt8(ascii: "\""))
        let start = index
        index = JSONStringBytes.firstSpecial(in: bytes, from: start)
        guard index < bytes.count else { throw fail("unterminated string") }
        switch bytes[index] {
        case UInt8(ascii: "\""):
            let plain = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
            index += 1
            return (plain, start)
        case UInt8(ascii: "\\"):
            return (nil, start)
        default:
            throw fail("control character in string")
        }
    }

    /// Reads a string value that recurs from message to message (a field name): the same
    /// `String` as last time when it has no escapes and ``recurring`` is set.
    mutating func readRecurringString() throws(SyntaxError) -> String {
        guard recurring != nil else { return try readString() }
        let (plain, start) = try readPlainString()
        if let plain { return recurring!.string(plain) }
        return try readEscapedString(from: start)
    }

    /// Reads a string value and hands its bytes to `recognize` when it has no escapes: what
    /// `recognize` makes of them, or the string when it makes nothing of them (or it has escapes).
    /// A text recognized needs no `String` (a traceId matched to its counter as bytes).
    mutating func readString<Recognized>(
        recognizing recognize: (UnsafeRawBufferPointer) -> Recognized?
    ) throws(SyntaxError) -> (recognized: Recognized?, string: String?) {
        guard try peek() == .string else { throw fail("expected a string") }
        let start = index + 1
        let end = JSONStringBytes.firstSpecial(in: bytes, from: start)
        if end < bytes.count, bytes[end] == UInt8(ascii: "\""),
           let recognized = recognize(UnsafeRawBufferPointer(rebasing: bytes[start..<end])) {
            index = end + 1
            return (recognized, nil)
        }
        return (nil, try readString())
    }

    /// Reads a string value and calls `body` with its UTF-8: the message's own bytes when it has
    /// no escapes (no `String` made), else the decoded text's.
    mutating func withStringBytes(_ body: (UnsafeRawBufferPointer) -> Void) throws(SyntaxError) {
        let (plain, start) = try readPlainString()
        if let plain { return body(plain) }
        var text = try readEscapedString(from: start)
        text.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    /// Reads a string value.
    public mutating func readString() throws(SyntaxError) -> String {
        let (plain, start) = try readPlainString()
        if let plain { return String(decoding: plain, as: UTF8.self) }
        return try readEscapedString(from: start)
    }

    mutating func readEscapedString(from start: Int) throws(SyntaxError) -> String {
        var out: [UInt8] = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { throw fail("unterminated escape") }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try readHex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        // A high surrogate must be followed by an escaped low surrogate.
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                            bytes[index + 1] == UInt8(ascii: "u")
                        else { throw fail("lone surrogate") }
                        index += 2
                        let low = try readHex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw fail("invalid surrogate pair") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw fail("lone surrogate")
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw fail("invalid unicode escape") }
                    out.append(contentsOf: UTF8.encode(unicode)!)
                default:
                    throw fail("invalid escape")
                }
            case 0..<0x20:
                throw fail("control character in string")
            default:
                out.append(byte)
            }
        }
        throw fail("unterminated string")
    }

    mutating func readHex4() throws(SyntaxError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("short unicode escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail("invalid hex digit")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }
}
