import Logging
import NIOCore
import NIOWebSocket

/// The client's protocol logic on one WebSocket channel: gives each request a traceId, keeps
/// it in the in-flight table, matches answers by traceId in any order, times requests out,
/// sends a heartbeat every interval, closes the connection when it is dead (``ConnectionHealth``),
/// answers pings, and runs the close handshake.
///
/// Any loss of the channel fails every request still in flight, at once, with a retryable error.
public final class ShieldConexClientHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = WebSocketFrame
    public typealias InboundOut = Never
    public typealias OutboundIn = ClientCommand
    public typealias OutboundOut = WebSocketFrame

    enum Pending {
        case request(EventLoopPromise<Response>)
        case tagged(Int, any AnswerReceiver)
        case heartbeat
    }

    enum State {
        case open
        case closing
        case closed(ShieldConexError)
    }

    private let configuration: ConnectionConfiguration
    private let logger: Logger
    private var traceIds = TraceIDGenerator()
    private var masks = MaskingKeyGenerator()
    private var inFlight = InFlightTable<Pending>()
    private var scratch = JSONWriter(capacity: 1024)
    private var recurring = RecurringStrings()
    /// The buffer the next answer's texts are decoded into (taken back after each answer).
    private var spareTexts = ResponseTexts()
    /// The layout of this server's success answers, once learned: answers that have it are read
    /// by comparing bytes (``ResponseShape``), the others by the general decoder.
    private var shape: ResponseShape?
    /// Success answers in a row that the shape did not read, and how many of them make the
    /// handler learn from the next one (doubled after a layout that cannot be learned, so that
    /// a server whose answers never have the usual layout costs a learning attempt rarely).
    private var shapeMisses = 0
    private var learnAfter = 1
    private var state = State.open
    private var health = ConnectionHealth(interval: .seconds(5), now: .uptimeNanoseconds(0))
    private var timer: RepeatedTask?
    private var closePromises: [EventLoopPromise<Void>] = []
    /// This handler's context while it is in a pipeline (for messages from the frame reader).
    private var context: ChannelHandlerContext?
    /// Between a read and its read-complete, flushes are held back and done once at the end:
    /// requests sent from answer callbacks then leave in one write instead of one each.
    private var inReadBurst = false
    private var flushPending = false
    private let requestTimeout: TimeAmount
    private let heartbeatInterval: TimeAmount
    private let heartbeatTimeout: TimeAmount
    /// Where batches of requests go as ready-made frames, past the frame encoder (absent: one
    /// `WebSocketFrame` per request through it, as in tests without a socket).
    private let frameGate: RawFrameGate?

    public convenience init(configuration: ConnectionConfiguration, logger: Logger) {
        self.init(configuration: configuration, logger: logger, frameGate: nil)
    }

    init(configuration: ConnectionConfiguration, logger: Logger, frameGate: RawFrameGate?) {
        self.configuration = configuration
        self.logger = logger
        self.frameGate = frameGate
        self.requestTimeout = configuration.requestTimeout.timeAmount
        self.heartbeatInterval = configuration.heartbeatInterval.timeAmount
        self.heartbeatTimeout = configuration.heartbeatTimeout.timeAmount
    }

    /// The most requests that were in flight at once on this connection.
    public var peakInFlight: Int { inFlight.peak }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        health = ConnectionHealth(interval: heartbeatInterval, now: context.eventLoop.now)
        let shortest = min(requestTimeout, heartbeatInterval, heartbeatTimeout)
        let tick = max(TimeAmount.milliseconds(5), min(TimeAmount.milliseconds(500), TimeAmount.nanoseconds(shortest.nanoseconds / 4)))
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { _ in
            bound.value.handler.tick(context: bound.value.context)
        }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        timer?.cancel()
        timer = nil
        failAll(.connectionClosed)
    }

    // MARK: Outbound

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .send(let request, let responsePromise, let timeout):
            guard case .open = state else {
                let error = closedError
                responsePromise.fail(error)
                promise?.fail(error)
                return
            }
            let now = context.eventLoop.now
            send(request, pending: .request(responsePromise), deadline: now + (timeout ?? requestTimeout),
                 context: context, promise: promise)
        case .sendAll(let batch):
            guard case .open = state else {
                let error = closedError
                for tag in batch.tags { batch.receiver.received(.failure(error), tag: tag) }
                promise?.fail(error)
                return
            }
            let now = context.eventLoop.now
            let deadline = now + (batch.timeout ?? requestTimeout)
            if let frameGate, sendAsFrames(batch, deadline: deadline, context: context, through: frameGate) {
                promise?.succeed(())
                return
            }
            for (index, tag) in batch.tags.enumerated() {
                let id = traceIds.nextCounter()
                batch.bodies.withBody(index) { writeMessage(id: id, body: $0) }
                sendScratch(id: id, pending: .tagged(tag, batch.receiver), deadline: deadline, context: context, promise: nil)
            }
            promise?.succeed(())
        case .close(let closePromise):
            startClose(context: context, promise: closePromise)
            promise?.succeed(())
        case .abandon(let reason):
            // A half-open connection answers nothing, a close handshake included.
            if case .open = state {
                logger.warning("the connection is dead; abandoning it", metadata: ["reason": "\(reason)"])
                let error = ShieldConexError.connectionLost(reason)
                state = .closed(error)
                failAll(error)
                context.close(promise: nil)
            }
            promise?.succeed(())
        }
    }

    private func send(
        _ request: Request, pending: Pending, deadline: NIODeadline, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?
    ) {
        let (id, traceId) = traceIds.next()
        scratch.bytes.removeAll(keepingCapacity: true)
        request.encode(traceId: traceId, into: &scratch)
        sendScratch(id: id, pending: pending, deadline: deadline, context: context, promise: promise)
    }

    /// What every message starts with, before its traceId's characters.
    static let messageHead: StaticString = #"{"traceId":""#

    /// `{"traceId":"…"` and the rest of the message, in `scratch`.
    private func writeMessage(id: UInt64, body: UnsafeRawBufferPointer) {
        scratch.bytes.removeAll(keepingCapacity: true)
        scratch.raw(Self.messageHead)
        traceIds.write(id, to: &scratch.bytes)
        scratch.byte(UInt8(ascii: "\""))
        scratch.bytes.appendRaw(body)
    }

    /// Sends the message in `scratch` as one `WebSocketFrame`.
    private func sendScratch(
        id: UInt64, pending: Pending, deadline: NIODeadline, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?
    ) {
        // Room before the payload for the frame header (at most 14 bytes), which the frame encoder
        // then writes in place instead of as a buffer of its own: one buffer per frame.
        var buffer = context.channel.allocator.buffer(capacity: scratch.bytes.count + Self.headerRoom)
        buffer.moveWriterIndex(to: Self.headerRoom)
        buffer.moveReaderIndex(to: Self.headerRoom)
        buffer.writeBytes(scratch.bytes)
        inFlight.insert(id, deadline: deadline, value: pending)
        let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: masks.nextMaskingKey(), data: buffer)
        context.write(wrapOutboundOut(frame), promise: promise)
    }

    static let headerRoom = 14

    /// A batch as one buffer of frames made here (``MaskedFrameWriting``), with one write.
    private func sendAsFrames(_ batch: RequestBatch, deadline: NIODeadline, context: ChannelHandlerContext, through gate: RawFrameGate) -> Bool {
        var frames = context.channel.allocator.buffer(capacity: batch.bodies.bytes.count + batch.bodies.count * 64)
        var ids: [UInt64] = []
        ids.reserveCapacity(batch.bodies.count)
        let generator = traceIds
        let head = UnsafeRawBufferPointer(start: Self.messageHead.utf8Start, count: Self.messageHead.utf8CodeUnitCount)
        for index in 0..<batch.bodies.count {
            let id = traceIds.nextCounter()
            let key = masks.nextMaskingKey()
            // `{"traceId":"…"` and the body written straight into the frame, then masked there.
            batch.bodies.withBody(index) { body in
                MaskedFrameWriting.appendTextFrame(length: head.count + 37 + body.count, key: key, to: &frames) { out in
                    out.copyMemory(from: head)
                    let traceId = UnsafeMutableRawBufferPointer(rebasing: out[head.count..<(head.count + 36)])
                    generator.write(id, into: traceId.bindMemory(to: UInt8.self))
                    out[head.count + 36] = UInt8(ascii: "\"")
                    UnsafeMutableRawBufferPointer(rebasing: out[(head.count + 37)...]).copyMemory(from: body)
                }
            }
            ids.append(id)
        }
        guard gate.writeFrames(frames) else { return false }
        for (id, tag) in zip(ids, batch.tags) { inFlight.insert(id, deadline: deadline, value: .tagged(tag, batch.receiver)) }
        return true
    }

    private var closedError: ShieldConexError {
        if case .closed(let error) = state { return error }
        return .connectionClosed
    }

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

    private func arrived(_ opcode: WebSocketOpcode, _ payload: ByteBuffer, context: ChannelHandlerContext) {
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

    private func receive(_ data: ByteBuffer) {
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
    private func learnShape(from data: ByteBuffer) {
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

    private func receivedClose(context: ChannelHandlerContext, payload: ByteBuffer) {
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

    // MARK: Timers

    private func tick(context: ChannelHandlerContext) {
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

    private func startClose(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
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

    private func failAll(_ error: ShieldConexError) {
        for pending in inFlight.removeAll() {
            switch pending {
            case .request(let promise): promise.fail(error)
            case .tagged(let tag, let receiver): receiver.received(.failure(error), tag: tag)
            case .heartbeat: break
            }
        }
    }
}

@available(*, unavailable)
extension ShieldConexClientHandler: Sendable {}
