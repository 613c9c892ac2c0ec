/// An error of the ShieldConex client: a request that cannot be sent, or a connection that failed.
///
/// Answers with `success: false` are not errors of this type: they are ``Response``s with a
/// ``Response/failure``. Messages never contain request values or the API key.
public struct ShieldConexError: Error, Hashable, CustomStringConvertible {
    enum Kind: Hashable {
        case invalidRequest(property: String, reason: String)
        case invalidEndpoint(String)
        case authenticationFailed(status: Int)
        case handshakeFailed(String)
        case connectionLost(String)
        case connectionClosed
        case timeout
        case heartbeatTimeout
        case tls(String)
    }

    let kind: Kind

    init(_ kind: Kind) { self.kind = kind }

    /// A request property is missing or violates the spec's length limits; nothing was sent.
    public static func invalidRequest(property: String, reason: String) -> Self {
        Self(.invalidRequest(property: property, reason: reason))
    }
    /// The endpoint is neither a known environment name nor a ws:// or wss:// URL.
    public static func invalidEndpoint(_ reason: String) -> Self { Self(.invalidEndpoint(reason)) }
    /// The server refused the WebSocket handshake with 401 or 403: the key is wrong or lacks permission.
    public static func authenticationFailed(status: Int) -> Self { Self(.authenticationFailed(status: status)) }
    /// The WebSocket handshake failed for another reason (e.g. HTTP 503, not a WebSocket server).
    public static func handshakeFailed(_ reason: String) -> Self { Self(.handshakeFailed(reason)) }
    /// The connection dropped (reset, EOF, I/O error) while the request was in flight.
    public static func connectionLost(_ reason: String) -> Self { Self(.connectionLost(reason)) }
    /// The connection was closed (by us or with a close frame) before the answer came.
    public static let connectionClosed = Self(.connectionClosed)
    /// No answer came within the request timeout.
    public static let timeout = Self(.timeout)
    /// A heartbeat was not answered in time: the connection is considered dead.
    public static let heartbeatTimeout = Self(.heartbeatTimeout)
    /// TLS configuration or handshake failure.
    public static func tls(_ reason: String) -> Self { Self(.tls(reason)) }

    /// Whether sending the same request again (on this or another connection) may succeed.
    public var isRetryable: Bool {
        switch kind {
        case .connectionLost, .connectionClosed, .timeout, .heartbeatTimeout: true
        case .invalidRequest, .invalidEndpoint, .authenticationFailed, .handshakeFailed, .tls: false
        }
    }

    /// Whether this is a refused handshake (wrong or unauthorised key).
    public var isAuthenticationFailure: Bool {
        if case .authenticationFailed = kind { return true }
        return false
    }

    public var description: String {
        switch kind {
        case .invalidRequest(let property, let reason): "invalid request: \(property) \(reason)"
        case .invalidEndpoint(let reason): "invalid endpoint: \(reason)"
        case .authenticationFailed(let status):
            "authentication error: the server refused the API key (HTTP \(status))"
        case .handshakeFailed(let reason): "WebSocket handshake failed: \(reason)"
        case .connectionLost(let reason): "connection lost: \(reason)"
        case .connectionClosed: "connection closed before the answer arrived"
        case .timeout: "request timed out"
        case .heartbeatTimeout: "heartbeat not answered in time: connection is dead"
        case .tls(let reason): "TLS error: \(reason)"
        }
    }
}
