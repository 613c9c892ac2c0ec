import NIOCore
import ShieldConex

/// What the engine needs of one connection to the service: send requests already written (each
/// answer comes back to a receiver with its tag, on the engine's loop), give the connection up,
/// close it, and learn when it is closed. ``ShieldConex/ShieldConexConnection`` is the real one;
/// the engine's tests give fakes.
public protocol ServiceConnection: AnyObject, Sendable {
    /// Sends requests with one flush; every answer or failure reaches `receiver` once, tagged.
    func send(_ bodies: EncodedRequests, tags: [Int], to receiver: any AnswerReceiver)
    /// Gives the connection up at once: its requests in flight fail with `reason`.
    func abandon(_ reason: String)
    /// Starts a graceful close; ``closeFuture`` completes once it is closed.
    func startClosing()
    /// Completes when the connection is closed, for whatever reason.
    var closeFuture: EventLoopFuture<Void> { get }
}

/// Opens the engine's connections (the service's address, credentials and TLS context are the
/// connector's, not the engine's).
public protocol ServiceConnector: Sendable {
    /// Opens a connection whose answers arrive on `loop`; the future completes on `loop`.
    func connect(on loop: any EventLoop) -> EventLoopFuture<any ServiceConnection>
}

extension ShieldConexConnection: ServiceConnection {
    public func send(_ bodies: EncodedRequests, tags: [Int], to receiver: any AnswerReceiver) {
        send(bodies, tags: tags, to: receiver, timeout: nil)
    }

    public func startClosing() {
        Task { await close() }
    }
}
