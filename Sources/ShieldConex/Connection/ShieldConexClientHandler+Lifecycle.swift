import Logging
import NIOCore
import NIOWebSocket

/// Heartbeats and timeouts, and closing.
extension ShieldConexClientHandler {
    // MARK: Timers

    func tick(context: ChannelHandlerContext) {
        guard case .open = state else { return }
        let now = context.eventLoop.now
        var expired = (requests: 0, heartbeat: false)
        for (_, pending) in inFlight.removeExpired(now: now) {
            switch pending {
            case .request(let promise):
                expired.requests += 1
                promise.fail(ShieldConexError.timeout)
            case .tagged(let tag, let receiver):
                expired.requests += 1
                receiver.received(.failure(ShieldConexError.timeout), tag: tag)
            case .heartbeat:
                expired.heartbeat = true
            }
        }
        switch health.tick(now: now, expired: expired) {
        case .none:
            break
        case .sendHeartbeat:
            send(.heartbeat(), pending: .heartbeat, deadline: now + heartbeatTimeout, context: context, promise: nil)
            context.flush()
        case .close(let reason):
            // A half-open connection answers nothing: its other requests go again on another.
            logger.warning("the connection is dead; closing it", metadata: ["reason": "\(reason.error)"])
            state = .closed(reason.error)
            failAll(reason.error)
            context.close(promise: nil)
        }
    }

    // MARK: Closing

    func startClose(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        guard case .open = state else {
            if case .closing = state, let promise { closePromises.append(promise) } else { promise?.succeed(()) }
            return
        }
        state = .closing
        if let promise { closePromises.append(promise) }
        var code = context.channel.allocator.buffer(capacity: 2)
        code.write(webSocketErrorCode: .normalClosure)
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: masks.nextMaskingKey(), data: code)
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
        context.eventLoop.assumeIsolated().scheduleTask(in: configuration.closeTimeout.timeAmount) {
            if case .closing = self.state {
                self.state = .closed(.connectionClosed)
                context.close(promise: nil)
            }
        }
    }

    func failAll(_ error: ShieldConexError) {
        for pending in inFlight.removeAll() {
            switch pending {
            case .request(let promise): promise.fail(error)
            case .tagged(let tag, let receiver): receiver.received(.failure(error), tag: tag)
            case .heartbeat: break
            }
        }
    }
}
