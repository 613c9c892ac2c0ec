import NIOCore
import NIOWebSocket

/// The client's inbound WebSocket stage: reads the server's frames from the connection's bytes
/// (``ServerFrameParser``) and hands each message straight to the ``ShieldConexClientHandler``
/// behind it, with no `WebSocketFrame` and no trip through the pipeline per answer (in place of
/// NIO's frame decoder, protocol-error handler and frame aggregator, which make a frame and a
/// trip through the pipeline per answer). A protocol error fails the connection as RFC 6455 §7.1.7 says:
/// a close frame with its code, then the TCP close; the requests in flight then fail as for
/// any lost connection.
final class ServerFrameReader: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = Never
    typealias OutboundOut = WebSocketFrame

    private var parser: ServerFrameParser
    private let handler: ShieldConexClientHandler
    /// Bytes of a frame that is not all here yet.
    private var partial: ByteBuffer?
    private var failed = false

    init(handler: ShieldConexClientHandler, maxFrameSize: Int, maxMessageSize: Int) {
        self.handler = handler
        parser = ServerFrameParser(maxFrameSize: maxFrameSize, maxMessageSize: maxMessageSize)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var bytes = unwrapInboundIn(data)
        if var earlier = partial {
            partial = nil
            earlier.writeBuffer(&bytes)
            bytes = earlier
        }
        do {
            while let message = try parser.next(from: &bytes) {
                handler.arrived(message.opcode, message.payload)
            }
        } catch {
            fail(context: context, error)
            return
        }
        if bytes.readableBytes > 0 {
            // Kept in a buffer of its own: a slice would pin the (pooled) read buffer.
            var rest = context.channel.allocator.buffer(capacity: max(bytes.readableBytes, 1024))
            rest.writeBuffer(&bytes)
            partial = rest
        }
    }

    private func fail(context: ChannelHandlerContext, _ error: ServerFrameParser.ProtocolError) {
        failed = true
        partial = nil
        var code = context.channel.allocator.buffer(capacity: 2)
        code.writeInteger(error.closeCode)
        let close = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: code)
        context.writeAndFlush(wrapOutboundOut(close), promise: nil)
        context.fireErrorCaught(error)
    }
}

@available(*, unavailable)
extension ServerFrameReader: Sendable {}
