/// An error of the ShieldConex client: a request that cannot be sent, or a connection that failed.
///
/// Answers with `success: false` are not errors of this type: they are ``Response``s with a
/// ``Response/failure``. Messages never contain request values or the API key.
public struct ShieldConexError: Error, Hashable, CustomStringConvertible {
    enum Kind: Hashable {
        case invalidRequest(property: String, reason: String)
        case invalidEndpoint(String)
        case authenticationFailed(status: Int, message: String?)
        case handshakeRefused(status: Int, reason: String, retryAfter: Duration?)
        case handshakeFailed(String)
        case insecureTransport(host: String)
        case certificateNotTrusted(String)
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
    /// The server refused the WebSocket handshake with 401 or 403: the key is wrong or lacks
    /// permission. `message` is the server's own message from a JSON body (ORCA's
    /// `{"code": 8003, "message": ...}`), when it sent one.
    public static func authenticationFailed(status: Int, message: String? = nil) -> Self {
        Self(.authenticationFailed(status: status, message: message))
    }
    /// The server answered the handshake with an HTTP status other than 101, 401 and 403.
    /// 429 and 503 are transient: connect again, no sooner than `retryAfter` when it is set.
    public static func handshakeRefused(status: Int, reason: String, retryAfter: Duration? = nil) -> Self {
        Self(.handshakeRefused(status: status, reason: reason, retryAfter: retryAfter))
    }
    /// The WebSocket handshake failed for another reason (no answer, not a WebSocket server).
    public static func handshakeFailed(_ reason: String) -> Self { Self(.handshakeFailed(reason)) }
    /// A `ws://` URL to a host that is not a loopback address, without the caller allowing it.
    public static func insecureTransport(host: String) -> Self { Self(.insecureTransport(host: host)) }
    /// The server's certificate did not verify against the trusted roots.
    public static func certificateNotTrusted(_ reason: String) -> Self { Self(.certificateNotTrusted(reason)) }
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
        case .handshakeRefused: isTransientRefusal
        case .invalidRequest, .invalidEndpoint, .authenticationFailed, .handshakeFailed, .tls, .insecureTransport,
            .certificateNotTrusted:
            false
        }
    }

    /// A handshake answered 429 or 503: the service is busy, not refusing us.
    public var isTransientRefusal: Bool {
        if case .handshakeRefused(let status, _, _) = kind { return status == 429 || status == 503 }
        return false
    }

    /// The server's `Retry-After` on a refused handshake.
    public var retryAfter: Duration? {
        if case .handshakeRefused(_, _, let retryAfter) = kind { return retryAfter }
        return nil
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
        case .authenticationFailed(let status, let message):
            "authentication error: the server refused the API key (HTTP \(status)\(message.map { ": \($0)" } ?? ""))"
        case .handshakeRefused(let status, let reason, let retryAfter):
            "handshake refused: HTTP \(status) \(reason)"
                + (retryAfter.map { " (the server asks to retry after \($0.components.seconds) s)" } ?? "")
        case .insecureTransport(let host):
            "refusing ws:// to \(host): the API key and the card data would travel in clear text; use wss://, "
                + "or allow insecure transport if the network between here and \(host) is trusted"
        case .certificateNotTrusted(let reason):
            "TLS error: the server's certificate could not be verified (\(reason)); if the service uses a private "
                + "certificate authority, trust its certificate"
        case .handshakeFailed(let reason): "WebSocket handshake failed: \(reason)"
        case .connectionLost(let reason): "connection lost: \(reason)"
        case .connectionClosed: "connection closed before the answer arrived"
        case .timeout: "request timed out"
        case .heartbeatTimeout: "heartbeat not answered in time: connection is dead"
        case .tls(let reason): "TLS error: \(reason)"
        }
    }
}
