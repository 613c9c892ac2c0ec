/// Why one input record could not be used. Messages never contain the record's values.
public struct RecordError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A stable code for reports and the rejects file.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        case wrongFieldCount = "wrong-field-count"
        case unterminatedQuote = "unterminated-quote"
        case badQuote = "bad-quote"
        case invalidUTF8 = "invalid-utf8"
        case recordTooLarge = "record-too-large"
        case invalidJSON = "invalid-json"
        case notAnObject = "not-a-json-object"
        case missingValue = "missing-value"
        case notAString = "not-a-string"
        case luhnCheckFailed = "luhn-check-failed"
        case duplicateKey = "duplicate-key"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
