/// One `{name, value}` pair of a `values` array: a template field name and its plaintext or token.
///
/// `description` never shows the value, so a `FieldValue` can be logged or interpolated safely.
public struct FieldValue: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    public var description: String { "\(name)=<\(value.utf8.count) bytes>" }
}
