import NIOCore

/// Settings of one ShieldConex WebSocket connection.
public struct ConnectionConfiguration: Sendable {
    /// How long a request may wait for its answer. Default 30 s.
    public var requestTimeout: Duration = .seconds(30)
    /// Send an application `heartbeat` when nothing was sent for this long. Default 5 s (the spec's advice).
    public var heartbeatInterval: Duration = .seconds(5)
    /// How long a heartbeat may go unanswered before the connection is declared dead. Default 10 s.
    public var heartbeatTimeout: Duration = .seconds(10)
    /// TCP connect timeout. Default 10 s.
    public var connectTimeout: Duration = .seconds(10)
    /// How long the WebSocket (and TLS) handshake may take. Default 10 s.
    public var handshakeTimeout: Duration = .seconds(10)
    /// How long to wait for the server's close frame after sending ours. Default 2 s.
    public var closeTimeout: Duration = .seconds(2)
    /// Largest single frame accepted. Default 1 MiB (NIO's default is 16 KiB).
    public var maxFrameSize: Int = 1 << 20
    /// Largest message reassembled from fragments. Default 4 MiB.
    public var maxMessageSize: Int = 4 << 20
    /// A PEM file of extra CA certificates, trusted in addition to the system's roots.
    public var extraCAFile: String?
    /// Allow `ws://` (no TLS) to a host that is not a loopback address. Default off: the key and
    /// the card data would cross the network in clear text.
    public var allowInsecureTransport = false
    /// Keep each response's raw text in ``Response/raw`` (for `call`; off on the hot path).
    public var keepRawResponses = false

    public init() {}
}

extension Duration {
    /// The same span as a NIO `TimeAmount`.
    public var timeAmount: TimeAmount {
        let (seconds, attoseconds) = components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
