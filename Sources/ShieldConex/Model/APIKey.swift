/// The partner's API key: the base64 text that follows `Basic ` in the handshake.
///
/// The executable reads it from the environment (`SCX_API_KEY`) or from a file that is not group
/// or world readable (`APIKey+Loading` in BatchTokenize: this module knows neither);
/// `description` never shows it.
public struct APIKey: Sendable, Hashable, CustomStringConvertible {
    let value: String

    /// Wraps a key already in memory (tests, the embedded simulator's generated key).
    public init(_ value: String) {
        self.value = value
    }

    /// The header value, `Basic <key>`.
    public var authorizationHeader: String { "Basic \(value)" }

    public var description: String { "<api key, \(value.count) characters>" }
}
