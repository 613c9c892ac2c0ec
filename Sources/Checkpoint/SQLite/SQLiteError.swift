import CSQLite

/// An error from SQLite, with its (extended) result code and message.
public struct SQLiteError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: Int32
    public var message: String
    /// What we were doing (never a bound value).
    public var context: String

    public var description: String { "SQLite error \(code) while \(context): \(message)" }

    /// The primary result code (the low byte of the extended one).
    public var primaryCode: Int32 { code & 0xFF }
}
