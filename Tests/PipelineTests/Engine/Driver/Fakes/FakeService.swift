import NIOCore
@testable import Pipeline
import ShieldConex

/// A request as the fake service received it.
struct ReceivedRequest {
    var request: Request
    var tag: Int
    var connection: FakeConnection

    /// The record's seq, from the request's reference (`JOBID:SEQ` or `JOBID:SEQ.GROUP`).
    var seq: Int {
        let tail = request.reference?.split(separator: ":").last ?? ""
        return Int(tail.split(separator: ".").first ?? "") ?? -1
    }
}

/// A service that answers when the test says: each connection keeps its requests until the test
/// answers, fails, drops or reorders them. Confined to the test's loop.
final class FakeService: @unchecked Sendable {
    var connections: [FakeConnection] = []
    /// Requests sent and not yet answered, in the order they were sent.
    var pending: [ReceivedRequest] = []
    /// Every request ever received (a re-send counts again).
    var received: [ReceivedRequest] = []
    /// Connections that fail to open from now on (their error).
    var refuseConnections: (any Error)?
    /// Called for each request as it arrives (the order of events the test checks).
    var onReceive: ((ReceivedRequest) -> Void)?

    func connector() -> FakeConnector { FakeConnector(service: self) }

    func receive(_ bodies: EncodedRequests, tags: [Int], on connection: FakeConnection) {
        for index in 0..<bodies.count {
            let request = bodies.withBody(index) { body -> Request in
                let message = Array(#"{"traceId":"t""#.utf8) + Array(body)
                let incoming = message.withUnsafeBytes { try? IncomingRequest.decode($0) }
                return incoming?.request ?? Request(action: .heartbeat)
            }
            let received = ReceivedRequest(request: request, tag: tags[index], connection: connection)
            self.received.append(received)
            pending.append(received)
            onReceive?(received)
        }
    }

    /// The answer a service would give: a token per value (`T` + the value reversed), a bfid per
    /// request (`B` + the reference); the values of a detokenize come back as they were tokenized.
    static func success(for request: Request) -> Response {
        let values = request.values?.map { FieldValue(name: $0.name, value: "T" + String($0.value.reversed())) }
        return Response(traceId: "", action: request.action.rawValue, messageId: "m", success: true, bfid: "B" + (request.reference ?? ""), values: values)
    }

    /// Answers the pending requests that `which` picks (all by default), in the order given.
    func answer(where which: (ReceivedRequest) -> Bool = { _ in true }, with answer: (Request) -> Result<Response, any Error> = { .success(success(for: $0)) }) {
        let chosen = pending.filter(which)
        pending.removeAll { candidate in chosen.contains { $0.tag == candidate.tag && $0.connection === candidate.connection } }
        for request in chosen where request.connection.isOpen {
            request.connection.receiver?.received(answer(request.request), tag: request.tag)
        }
    }

    /// Answers every pending request, last sent first.
    func answerReversed() {
        let chosen = pending.reversed()
        pending.removeAll()
        for request in chosen where request.connection.isOpen {
            request.connection.receiver?.received(.success(Self.success(for: request.request)), tag: request.tag)
        }
    }
}

/// Opens ``FakeConnection``s at once, on the test's loop.
struct FakeConnector: ServiceConnector {
    let service: FakeService

    func connect(on loop: any EventLoop) -> EventLoopFuture<any ServiceConnection> {
        if let error = service.refuseConnections { return loop.makeFailedFuture(error) }
        let connection = FakeConnection(service: service, loop: loop)
        service.connections.append(connection)
        return loop.makeSucceededFuture(connection)
    }
}

/// One connection of the fake service.
final class FakeConnection: ServiceConnection, @unchecked Sendable {
    let service: FakeService
    let closed: EventLoopPromise<Void>
    private(set) var isOpen = true
    /// The receiver of the connection's answers (one per connection in the engine).
    private(set) var receiver: (any AnswerReceiver)?

    init(service: FakeService, loop: any EventLoop) {
        self.service = service
        closed = loop.makePromise()
    }

    func send(_ bodies: EncodedRequests, tags: [Int], to receiver: any AnswerReceiver) {
        guard isOpen else {
            for tag in tags { receiver.received(.failure(ShieldConexError.connectionClosed), tag: tag) }
            return
        }
        self.receiver = receiver
        service.receive(bodies, tags: tags, on: self)
    }

    /// The connection drops: its unanswered requests fail as lost.
    func drop(_ reason: String = "dropped by the test") {
        guard isOpen else { return }
        isOpen = false
        let lost = service.pending.filter { $0.connection === self }
        service.pending.removeAll { $0.connection === self }
        for request in lost { receiver?.received(.failure(ShieldConexError.connectionLost(reason)), tag: request.tag) }
        closed.succeed(())
    }

    func abandon(_ reason: String) { drop(reason) }

    func startClosing() { drop("closed by the client") }

    var closeFuture: EventLoopFuture<Void> { closed.futureResult }
}
