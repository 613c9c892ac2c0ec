/// An object key as the scanner found it: its bytes in the message (no `String` made for it),
/// or the decoded text when the key had escapes. Matched against literals in a `switch`:
/// `case "traceId":`. Valid only inside the `readObjectKeys` body that received it.
public struct JSONKey {
    let bytes: UnsafeRawBufferPointer
    let unescaped: String?

    /// The key as text.
    public var string: String { unescaped ?? String(decoding: bytes, as: UTF8.self) }

    // Inlined where a `switch` matches: the literal's length and bytes are then constants, and
    // most cases are settled by comparing two lengths.
    @inline(__always)
    public static func ~= (pattern: StaticString, key: JSONKey) -> Bool {
        guard pattern.hasPointerRepresentation else {
            // A one-scalar literal: no UTF-8 pointer to compare with.
            return pattern.withUTF8Buffer { key.string.utf8.elementsEqual($0) }
        }
        let count = pattern.utf8CodeUnitCount
        if let unescaped = key.unescaped {
            return unescaped.utf8.count == count && unescaped.utf8.elementsEqual(UnsafeBufferPointer(start: pattern.utf8Start, count: count))
        }
        // Most keys differ in length from most patterns: that settles it without a byte compared.
        guard count == key.bytes.count else { return false }
        let literal = pattern.utf8Start
        for offset in 0..<count where literal[offset] != key.bytes[offset] { return false }
        return true
    }
}
