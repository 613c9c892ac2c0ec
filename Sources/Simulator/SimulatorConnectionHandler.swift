import NIOCore
import NIOPosix
import NIOWebSocket
import ShieldConex

/// One WebSocket connection of the simulator: answers each request through the shared
/// ``SimulatorEngine``, delays answers when latency is configured, injects the connection
/// faults (reset after N requests, idle close), answers pings and close frames.
final class SimulatorConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let engine: SimulatorEngine
    private let key: String
    private var random: SplitMix64
    private var requests = 0
    private var scratch = JSONWriter(capacity: 1024)
    private var closing = false
    /// Stopped answering on purpose: reads nothing more, answers nothing, stays open.
    private var stalled = false
    private let latencyNanoseconds: Double?

    init(engine: SimulatorEngine, key: String, seed: UInt64) {
        self.engine = engine
        self.key = key
        self.random = SplitMix64(seed: seed)
        self.latencyNanoseconds = engine.configuration.latency.map { duration in
            let (seconds, attoseconds) = duration.components
            return Double(seconds) * 1e9 + Double(attoseconds) / 1e9
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary:
            guard !closing, !stalled else { return }
            requests += 1
            if let limit = engine.configuration.dropAfter, requests > limit {
                reset(context: context)
                return
            }
            if !engine.configuration.resetAt.isEmpty || !engine.configuration.stallAt.isEmpty {
                let number = engine.nextFrameNumber()
                if engine.configuration.resetAt.contains(number) {
                    reset(context: context)
                    return
                }
                if engine.configuration.stallAt.contains(number) {
                    stalled = true
                    engine.update { $0.connectionsStalled += 1 }
                    context.channel.setOption(.autoRead, value: false).whenComplete { _ in }
                    return
                }
            }
            answer(frame.unmaskedPayload, context: context)
        case .ping:
            guard !stalled else { return }
            let pong = WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            var data = frame.unmaskedData
            let code = data.readSlice(length: 2) ?? ByteBuffer()
            if closing {
                context.close(promise: nil)
                return
            }
            closing = true
            let reply = WebSocketFrame(fin: true, opcode: .connectionClose, data: code)
            context.writeAndFlush(wrapOutboundOut(reply)).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    private func answer(_ message: ByteBuffer, context: ChannelHandlerContext) {
        let response = engine.respond(to: message, key: key, faultRoll: random.nextUnit())
        scratch.bytes.removeAll(keepingCapacity: true)
        response.encode(into: &scratch)
        var buffer = context.channel.allocator.buffer(capacity: scratch.bytes.count)
        buffer.writeBytes(scratch.bytes)
        let frame = WebSocketFrame(fin: true, opcode: .text, data: buffer)
        // The service's queue and work (``ServiceQueue``), then the network's part.
        let processing = engine.processingDelay(for: response, now: .now())
        guard let mean = latencyNanoseconds, mean > 0 else {
            guard processing > .zero else {
                context.write(wrapOutboundOut(frame), promise: nil)
                return
            }
            delayed(frame, by: Double(processing.nanoseconds), context: context)
            return
        }
        // Exponentially distributed delays make answers overtake each other, as on a busy server.
        delayed(frame, by: Double(processing.nanoseconds) - mean * log(1 - random.nextUnit()), context: context)
    }

    private func delayed(_ frame: WebSocketFrame, by delay: Double, context: ChannelHandlerContext) {
        engine.update { statistics in
            statistics.inFlight += 1
            statistics.peakInFlight = max(statistics.peakInFlight, statistics.inFlight)
        }
        context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(delay))) {
            self.engine.update { $0.inFlight -= 1 }
            guard !self.closing, !self.stalled, context.channel.isActive else { return }
            context.writeAndFlush(self.wrapOutboundOut(frame), promise: nil)
        }
    }

    /// An abrupt drop: SO_LINGER 0 makes close() send a TCP RST, and no close frame is sent.
    private func reset(context: ChannelHandlerContext) {
        closing = true
        engine.update { $0.connectionsDropped += 1 }
        guard let provider = context.channel as? any SocketOptionProvider else {
            context.close(promise: nil)
            return
        }
        provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).hop(to: context.eventLoop).assumeIsolated()
            .whenComplete { _ in
                context.close(promise: nil)
            }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read, !closing else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        closing = true
        engine.update { $0.connectionsIdleClosed += 1 }
        var code = context.channel.allocator.buffer(capacity: 2)
        code.write(webSocketErrorCode: .goingAway)
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, data: code)
        context.writeAndFlush(wrapOutboundOut(frame)).assumeIsolated().whenComplete { _ in
            // Give the client a moment to answer the close frame, then close regardless.
            context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) {
                context.close(promise: nil)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension SimulatorConnectionHandler: Sendable {}
