import NIOCore

/// What the connection asks of its ``ShieldConexClientHandler``; written into the channel.
public enum ClientCommand: Sendable {
    /// Send a validated request; the promise gets its answer or a ``ShieldConexError``.
    case send(Request, EventLoopPromise<Response>, timeout: TimeAmount?)
    /// Send validated requests, one frame each, answered through `receiver` with their tags:
    /// no promise per request.
    case sendAll(RequestBatch)
    /// Start the close handshake; the promise completes when the channel is closed.
    case close(EventLoopPromise<Void>?)
    /// The connection is dead to the caller (it stopped answering): fail every request in flight
    /// with ``ShieldConexError/connectionLost(_:)`` and the reason, and close at once.
    case abandon(reason: String)
}

/// Receives the answers of requests sent with ``ShieldConexConnection/send(_:tags:to:timeout:)``,
/// on the connection's event loop: each answer (which may be `success: false`) or failure
/// (timeout, lost connection) once, with the tag its request was sent with; an invalid request
/// (never sent) is reported from the call that tried to send it. The tag says which request an
/// answer belongs to: its `traceId` is left empty (matched as bytes, never made a `String`).
public protocol AnswerReceiver: AnyObject, Sendable {
    func received(_ result: Result<Response, any Error>, tag: Int)
}

/// Requests sent together, each with a tag that its answer comes back with.
public struct RequestBatch: Sendable {
    /// The requests, already JSON but for their traceIds.
    public var bodies: EncodedRequests
    public var tags: [Int]
    public var receiver: any AnswerReceiver
    public var timeout: TimeAmount?

    public init(bodies: EncodedRequests, tags: [Int], receiver: any AnswerReceiver, timeout: TimeAmount? = nil) {
        precondition(bodies.count == tags.count, "one tag per request")
        self.bodies = bodies
        self.tags = tags
        self.receiver = receiver
        self.timeout = timeout
    }

    public init(requests: [Request], tags: [Int], receiver: any AnswerReceiver, timeout: TimeAmount? = nil) {
        var bodies = EncodedRequests(reservingCapacity: requests.count)
        for request in requests { bodies.append(request) }
        self.init(bodies: bodies, tags: tags, receiver: receiver, timeout: timeout)
    }
}
