import NIOCore
import NIOHTTP1

/// Catches the HTTP response of a refused handshake (its head and up to 4 KiB of its body) so
/// that its status, reason, `Retry-After` and message can be reported, then closes.
final class HandshakeRefusalHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    struct Refusal: Sendable {
        var head: HTTPResponseHead
        var body: [UInt8]
    }

    static let bodyLimit = 4096

    private let promise: EventLoopPromise<Refusal>
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []
    private var completed = false
    var refusal: EventLoopFuture<Refusal> { promise.futureResult }

    init(eventLoop: any EventLoop) {
        promise = eventLoop.makePromise()
    }

    private func complete(_ result: Result<Refusal, any Error>) {
        guard !completed else { return }
        completed = true
        promise.completeWith(result)
    }

    /// The head alone is enough once the body is complete, cut off, or the connection ends.
    private func completeWithWhatCame(orFail error: ShieldConexError) {
        if let head {
            complete(.success(Refusal(head: head, body: body)))
        } else {
            complete(.failure(error))
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body(let buffer):
            let room = Self.bodyLimit - body.count
            if room > 0 { body.append(contentsOf: buffer.readableBytesView.prefix(room)) }
            if body.count >= Self.bodyLimit {
                completeWithWhatCame(orFail: .handshakeFailed("the handshake answer was cut off"))
                context.close(promise: nil)
            }
        case .end:
            completeWithWhatCame(orFail: .handshakeFailed("the handshake answer had no head"))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        completeWithWhatCame(orFail: .handshakeFailed("the server closed the connection during the handshake"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        completeWithWhatCame(orFail: .handshakeFailed("\(error)"))
        context.close(promise: nil)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        completeWithWhatCame(orFail: .handshakeFailed("the handshake was abandoned"))
    }
}

@available(*, unavailable)
extension HandshakeRefusalHandler: Sendable {}
