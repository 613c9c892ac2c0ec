import Logging
import NIOCore
import NIOWebSocket

/// Answers, control frames and the channel going away.
extension ShieldConexClientHandler {
    // MARK: Inbound

    public func flush(context: ChannelHandlerContext) {
        if inReadBurst {
            flushPending = true
        } else {
            context.flush()
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        inReadBurst = false
        if flushPending {
            flushPending = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    /// A frame through the pipeline (as in tests without a socket; on a connection, messages
    /// come from the ``ServerFrameReader`` in front of this handler, through ``arrived(_:_:)``).
    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        arrived(frame.opcode, frame.unmaskedData, context: context)
    }

    /// A whole message or a control frame from the ``ServerFrameReader``.
    func arrived(_ opcode: WebSocketOpcode, _ payload: ByteBuffer) {
        guard let context else { return }
        arrived(opcode, payload, context: context)
    }

    func arrived(_ opcode: WebSocketOpcode, _ payload: ByteBuffer, context: ChannelHandlerContext) {
        inReadBurst = true
        switch opcode {
        case .text, .binary:
            receive(payload)
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: masks.nextMaskingKey(), data: payload)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .pong:
            break
        case .connectionClose:
            receivedClose(context: context, payload: payload)
        default:
            // Continuation frames are joined into their message before this handler.
            break
        }
    }

    func receive(_ data: ByteBuffer) {
        var response: Response
        var counter: UInt64?
        if let shape, let matched = data.withUnsafeReadableBytes({ shape.match($0, traceIds: traceIds, reusing: &spareTexts) }) {
            (response, counter) = matched
            shapeMisses = 0
        } else {
            do {
                // Our traceIds are matched as bytes: the response's `traceId` stays empty for them.
                response = try Response.decode(data, recurring: &recurring, traceIds: traceIds, counter: &counter, reusing: &spareTexts)
            } catch {
                logger.warning("dropped an undecodable message", metadata: ["error": "\(error)"])
                return
            }
            if response.success && counter != nil { learnShape(from: data) }
        }
        guard let id = counter ?? traceIds.counter(of: response.traceId), let pending = inFlight.remove(id) else {
            logger.notice("dropped a response with an unknown traceId", metadata: ["trace.id": "\(response.traceId)"])
            return
        }
        switch pending {
        case .request(let promise):
            // A caller awaiting one answer sees the whole response, its traceId as the server wrote it.
            if counter != nil, let whole = try? Response.decode(data) { response = whole }
            if configuration.keepRawResponses { response.raw = String(buffer: data) }
            promise.succeed(response)
        case .tagged(let tag, let receiver):
            receiver.received(.success(response), tag: tag)
            // The receiver has copied what it keeps: the buffer serves the next answer.
            spareTexts = response.takeTexts()
        case .heartbeat:
            health.heartbeatAnswered()
            if !response.success {
                logger.notice("heartbeat answered with failure", metadata: ["error": "\(response.failure?.description ?? "")"])
            }
        }
    }

    /// A success answer the shape did not read: after enough of them in a row, learns this one's layout.
    func learnShape(from data: ByteBuffer) {
        shapeMisses += 1
        guard shapeMisses >= learnAfter else { return }
        shapeMisses = 0
        if let learned = data.withUnsafeReadableBytes({ ResponseShape.learn(from: $0, traceIds: traceIds) }) {
            shape = learned
            learnAfter = 16
        } else {
            learnAfter = min(learnAfter * 2, 4096)
        }
    }

    func receivedClose(context: ChannelHandlerContext, payload: ByteBuffer) {
        switch state {
        case .closing:
            // The server answered our close frame: the handshake is complete.
            state = .closed(.connectionClosed)
            context.close(promise: nil)
        case .open:
            var data = payload
            let code = data.readSlice(length: 2) ?? ByteBuffer()
            logger.info("server closed the connection", metadata: ["close.code": "\(code.getInteger(at: code.readerIndex, as: UInt16.self).map(String.init) ?? "none")"])
            state = .closed(.connectionClosed)
            failAll(.connectionClosed)
            let reply = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: masks.nextMaskingKey(), data: code)
            context.writeAndFlush(wrapOutboundOut(reply)).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        case .closed:
            break
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        let error: ShieldConexError
        switch state {
        case .closed(let reason): error = reason
        case .closing: error = .connectionClosed
        case .open: error = .connectionLost("the server closed the TCP connection without a close frame")
        }
        state = .closed(error)
        timer?.cancel()
        timer = nil
        failAll(error)
        for promise in closePromises { promise.succeed(()) }
        closePromises.removeAll()
        context.fireChannelInactive()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let reason = ShieldConexError.connectionLost("\(error)")
        logger.info("connection error", metadata: ["error": "\(error)"])
        if case .open = state { state = .closed(reason) }
        failAll(reason)
        context.close(promise: nil)
    }
}
