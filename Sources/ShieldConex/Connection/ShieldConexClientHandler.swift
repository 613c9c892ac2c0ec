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

    let configuration: ConnectionConfiguration
    let logger: Logger
    var traceIds = TraceIDGenerator()
    var masks = MaskingKeyGenerator()
    var inFlight = InFlightTable<Pending>()
    var scratch = JSONWriter(capacity: 1024)
    var recurring = RecurringStrings()
    /// The buffer the next answer's texts are decoded into (taken back after each answer).
    var spareTexts = ResponseTexts()
    /// The layout of this server's success answers, once learned: answers that have it are read
    /// by comparing bytes (``ResponseShape``), the others by the general decoder.
    var shape: ResponseShape?
    /// Success answers in a row that the shape did not read, and how many of them make the
    /// handler learn from the next one (doubled after a layout that cannot be learned, so that
    /// a server whose answers never have the usual layout costs a learning attempt rarely).
    var shapeMisses = 0
    var learnAfter = 1
    var state = State.open
    var health = ConnectionHealth(interval: .seconds(5), now: .uptimeNanoseconds(0))
    var timer: RepeatedTask?
    var closePromises: [EventLoopPromise<Void>] = []
    /// This handler's context while it is in a pipeline (for messages from the frame reader).
    var context: ChannelHandlerContext?
    /// Between a read and its read-complete, flushes are held back and done once at the end:
    /// requests sent from answer callbacks then leave in one write instead of one each.
    var inReadBurst = false
    var flushPending = false
    let requestTimeout: TimeAmount
    let heartbeatInterval: TimeAmount
    let heartbeatTimeout: TimeAmount
    /// Where batches of requests go as ready-made frames, past the frame encoder (absent: one
    /// `WebSocketFrame` per request through it, as in tests without a socket).
    let frameGate: RawFrameGate?

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

    func send(
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
    func writeMessage(id: UInt64, body: UnsafeRawBufferPointer) {
        scratch.bytes.removeAll(keepingCapacity: true)
        scratch.raw(Self.messageHead)
        traceIds.write(id, to: &scratch.bytes)
        scratch.byte(UInt8(ascii: "\""))
        scratch.bytes.appendRaw(body)
    }

    /// Sends the message in `scratch` as one `WebSocketFrame`.
    func sendScratch(
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
    func sendAsFrames(_ batch: RequestBatch, deadline: NIODeadline, context: ChannelHandlerContext, through gate: RawFrameGate) -> Bool {
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

    var closedError: ShieldConexError {
        if case .closed(let error) = state { return error }
        return .connectionClosed
    }

}

@available(*, unavailable)
extension ShieldConexClientHandler: Sendable {}
