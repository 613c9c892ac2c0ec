/// A small pull scanner over JSON text, for the hot path: it reads exactly the keys it is asked
/// about and skips everything else, without building a tree or touching Foundation.
///
/// It is strict about syntax (a malformed document throws) and liberal about content: callers
/// skip unknown keys with ``skipValue()``. Nesting is limited so that hostile input cannot
/// overflow the stack.
public struct JSONScanner {
    public struct SyntaxError: Error, Hashable, CustomStringConvertible {
        public var offset: Int
        public var reason: String

        public init(offset: Int, reason: String) {
            self.offset = offset
            self.reason = reason
        }

        public var description: String { "invalid JSON at byte \(offset): \(reason)" }
    }

    public enum Token: Equatable {
        case objectStart, arrayStart, string, number, bool, null
    }

    let bytes: UnsafeRawBufferPointer
    public internal(set) var index: Int = 0
    /// Where ``readRecurringString()`` finds the strings it gave out before (none: it allocates).
    var recurring: RecurringStrings?
    let maxDepth = 64

    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    func fail(_ reason: String) -> SyntaxError { SyntaxError(offset: index, reason: reason) }

    @inline(__always)
    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    /// The kind of the next value, without consuming it.
    @inline(__always)
    public mutating func peek() throws(SyntaxError) -> Token {
        skipWhitespace()
        guard index < bytes.count else { throw unexpectedEnd() }
        switch bytes[index] {
        case UInt8(ascii: "{"): return .objectStart
        case UInt8(ascii: "["): return .arrayStart
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        default: throw unexpectedCharacter()
        }
    }

    // Called for every token: inlined, with the making of an error (a `String`) kept out of line.
    @inline(__always)
    mutating func expect(_ byte: UInt8) throws(SyntaxError) {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else { throw expected(byte) }
        index += 1
    }

    @inline(never)
    func expected(_ byte: UInt8) -> SyntaxError { fail("expected '\(Character(Unicode.Scalar(byte)))'") }

    @inline(never)
    func unexpectedEnd() -> SyntaxError { fail("unexpected end") }

    @inline(never)
    func unexpectedCharacter() -> SyntaxError { fail("unexpected character") }

    /// Checks that nothing but whitespace follows the document.
    public mutating func expectEnd() throws(SyntaxError) {
        skipWhitespace()
        if index != bytes.count { throw fail("trailing characters") }
    }

    /// Iterates the members of an object: `body` is called with each key, positioned at its value,
    /// and must consume that value.
    public mutating func readObject(_ body: (inout JSONScanner, String) throws -> Void) throws {
        try readObjectKeys { scanner, key in try body(&scanner, key.string) }
    }

    /// Iterates the members of an object as ``readObject(_:)`` does, with each key as the bytes of
    /// the message (a ``JSONKey``) instead of a `String`: for the hot path.
    public mutating func readObjectKeys(_ body: (inout JSONScanner, JSONKey) throws -> Void) throws {
        try expect(UInt8(ascii: "{"))
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            let key = try readKey()
            try expect(UInt8(ascii: ":"))
            try body(&self, key)
            skipWhitespace()
            guard index < bytes.count else { throw fail("unterminated object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return
            }
            throw fail("expected ',' or '}'")
        }
    }

    /// Iterates the elements of an array: `body` must consume each element.
    public mutating func readArray(_ body: (inout JSONScanner) throws -> Void) throws {
        try expect(UInt8(ascii: "["))
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return
        }
        while true {
            try body(&self)
            skipWhitespace()
            guard index < bytes.count else { throw fail("unterminated array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return
            }
            throw fail("expected ',' or ']'")
        }
    }

    /// Reads a number and returns its text exactly as written (validated against the JSON grammar).
    public mutating func readNumberText() throws(SyntaxError) -> Substring {
        skipWhitespace()
        let start = index
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let intStart = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        if index == intStart { throw fail("expected digits") }
        if bytes[intStart] == UInt8(ascii: "0"), index - intStart > 1 { throw fail("leading zero") }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            let fracStart = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            if index == fracStart { throw fail("expected fraction digits") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            let expStart = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            if index == expStart { throw fail("expected exponent digits") }
        }
        return Substring(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
    }

    /// Reads an integer number; a fraction or an out-of-range value throws.
    public mutating func readInteger() throws(SyntaxError) -> Int64 {
        let text = try readNumberText()
        guard let value = Int64(text) else { throw fail("not an integer") }
        return value
    }

    public mutating func readBool() throws(SyntaxError) -> Bool {
        skipWhitespace()
        if matchLiteral("true") { return true }
        if matchLiteral("false") { return false }
        throw fail("expected true or false")
    }

    /// Consumes `null` if it is next; returns whether it was.
    public mutating func readNullIfPresent() throws(SyntaxError) -> Bool {
        skipWhitespace()
        return matchLiteral("null")
    }

    private mutating func matchLiteral(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        let literalBytes = UnsafeRawBufferPointer(start: literal.utf8Start, count: count)
        for offset in 0..<count where bytes[index + offset] != literalBytes[offset] { return false }
        index += count
        return true
    }

    /// Skips one value of any kind, checking its syntax.
    public mutating func skipValue() throws(SyntaxError) {
        try skipValue(depth: 0)
    }

    private mutating func skipValue(depth: Int) throws(SyntaxError) {
        if depth > maxDepth { throw fail("nesting too deep") }
        switch try peek() {
        case .string: _ = try skipString()
        case .number: _ = try readNumberText()
        case .bool: _ = try readBool()
        case .null: _ = try readNullIfPresent()
        case .objectStart:
            do {
                try readObjectKeys { scanner, _ in try scanner.skipValue(depth: depth + 1) }
            } catch let error as SyntaxError {
                throw error
            } catch {
                throw fail("\(error)")
            }
        case .arrayStart:
            do {
                try readArray { scanner in try scanner.skipValue(depth: depth + 1) }
            } catch let error as SyntaxError {
                throw error
            } catch {
                throw fail("\(error)")
            }
        }
    }

    private mutating func skipString() throws(SyntaxError) {
        try expect(UInt8(ascii: "\""))
        while true {
            index = JSONStringBytes.firstSpecial(in: bytes, from: index)
            guard index < bytes.count else { break }
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: "\"") { return }
            guard byte == UInt8(ascii: "\\") else { throw fail("control character in string") }
            guard index < bytes.count else { break }
            index += 1
        }
        throw fail("unterminated string")
    }
}
