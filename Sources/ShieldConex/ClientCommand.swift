import NIOCore

/// What the connection asks of its ``ShieldConexClientHandler``; written into the channel.
public enum ClientCommand: Sendable {
    /// Send a validated request; the promise gets its answer or a ``ShieldConexError``.
    case send(Request, EventLoopPromise<Response>, timeout: TimeAmount?)
    /// Start the close handshake; the promise completes when the channel is closed.
    case close(EventLoopPromise<Void>?)
}
