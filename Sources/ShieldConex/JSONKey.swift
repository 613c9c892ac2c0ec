/// An object key as the scanner found it: its bytes in the message (no `String` made for it),
/// or the decoded text when the key had escapes. Matched against literals in a `switch`:
/// `case "traceId":`. Valid only inside the `readObjectKeys` body that received it.
public struct JSONKey {
    let bytes: UnsafeRawBufferPointer
    let unescaped: String?

    /// The key as text.
    public var string: String { unescaped ?? String(decoding: bytes, as: UTF8.self) }

    public static func ~= (pattern: StaticString, key: JSONKey) -> Bool {
        if let unescaped = key.unescaped { return pattern.withUTF8Buffer { unescaped.utf8.elementsEqual($0) } }
        return pattern.withUTF8Buffer { literal in
            guard literal.count == key.bytes.count else { return false }
            for offset in 0..<literal.count where literal[offset] != key.bytes[offset] { return false }
            return true
        }
    }
}
