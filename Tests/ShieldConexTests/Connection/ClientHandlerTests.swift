import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import ShieldConex

/// The client handler on an `EmbeddedChannel`: no sockets, virtual time.
@Suite struct ClientHandlerTests {
    final class Harness {
        let channel = EmbeddedChannel()
        var loop: EmbeddedEventLoop { channel.embeddedEventLoop }

        init(configuration: ConnectionConfiguration = .init()) throws {
            try channel.pipeline.syncOperations.addHandler(
                NIOWebSocketFrameAggregator(minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 64, maxAccumulatedFrameSize: 1 << 20)
            )
            try channel.pipeline.syncOperations.addHandler(ShieldConexClientHandler(configuration: configuration, logger: Logger(label: "test")))
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        func send(_ request: Request) -> EventLoopFuture<Response> {
            let promise = loop.makePromise(of: Response.self)
            channel.writeAndFlush(ClientCommand.send(request, promise, timeout: nil), promise: nil)
            return promise.futureResult
        }

        /// The next frame the client wrote. Its `data` is the plaintext: the encoder masks on the wire.
        func nextFrame() throws -> WebSocketFrame? {
            try channel.readOutbound(as: WebSocketFrame.self)
        }

        /// The traceId and action of the next request the client wrote.
        func nextRequest() throws -> IncomingRequest {
            let frame = try #require(try nextFrame())
            #expect(frame.opcode == .text)
            #expect(frame.maskKey != nil, "client frames must be masked")
            return try IncomingRequest.decode(frame.data)
        }

        func answer(_ response: Response) throws {
            var buffer = ByteBuffer()
            response.encode(into: &buffer)
            try channel.writeInbound(WebSocketFrame(fin: true, opcode: .text, data: buffer))
        }
    }

    final class Box<T>: @unchecked Sendable {
        var value: Result<T, any Error>?
    }

    /// The outcome of a future on the embedded loop, or `nil` while it is pending.
    static func outcome<T>(_ future: EventLoopFuture<T>) -> Result<T, any Error>? {
        let box = Box<T>()
        future.whenComplete { box.value = $0 }
        return box.value
    }

    static func isPending<T>(_ future: EventLoopFuture<T>) -> Bool { outcome(future) == nil }

    @Test func outOfOrderAnswersAreMatchedByTraceId() throws {
        let harness = try Harness()
        let futures = (0..<3).map { index in
            harness.send(.tokenize(templateRef: "t", values: [FieldValue(name: "f", value: "v\(index)")]))
        }
        let requests = try (0..<3).map { _ in try harness.nextRequest() }
        #expect(Set(requests.compactMap(\.traceId)).count == 3)
        for (index, request) in requests.enumerated().reversed() {
            try harness.answer(Response(traceId: request.traceId!, success: true, bfid: "bfid-\(index)"))
        }
        for (index, future) in futures.enumerated() {
            let response = try #require(try Self.outcome(future)?.get())
            #expect(response.bfid == "bfid-\(index)")
        }
    }

    @Test func unknownTraceIdIsDroppedNotFatal() throws {
        let harness = try Harness()
        let future = harness.send(.partnerValidate())
        let request = try harness.nextRequest()
        try harness.answer(Response(traceId: "not-ours", success: true))
        try harness.answer(Response(traceId: "00000000-0000-0000-0000-000000000001", success: true))
        #expect(Self.isPending(future))
        try harness.answer(Response(traceId: request.traceId!, success: true))
        #expect(try Self.outcome(future)?.get().success == true)
        #expect(harness.channel.isActive)
    }

    @Test func undecodableMessageIsDropped() throws {
        let harness = try Harness()
        let future = harness.send(.partnerValidate())
        _ = try harness.nextRequest()
        try harness.channel.writeInbound(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: "{not json")))
        #expect(Self.isPending(future))
        #expect(harness.channel.isActive)
    }

    @Test func fragmentedMessageIsReassembled() throws {
        let harness = try Harness()
        let future = harness.send(.heartbeat())
        let request = try harness.nextRequest()
        var buffer = ByteBuffer()
        Response(traceId: request.traceId!, action: "heartbeat", success: true, timestamp: 42).encode(into: &buffer)
        let text = String(buffer: buffer)
        let parts = [text.prefix(10), text.dropFirst(10).prefix(20), text.dropFirst(30)].map(String.init)
        try harness.channel.writeInbound(WebSocketFrame(fin: false, opcode: .text, data: ByteBuffer(string: parts[0])))
        try harness.channel.writeInbound(WebSocketFrame(fin: false, opcode: .continuation, data: ByteBuffer(string: parts[1])))
        #expect(Self.isPending(future))
        try harness.channel.writeInbound(WebSocketFrame(fin: true, opcode: .continuation, data: ByteBuffer(string: parts[2])))
        #expect(try Self.outcome(future)?.get().timestamp == 42)
    }

    @Test func pingIsAnsweredWithPong() throws {
        let harness = try Harness()
        try harness.channel.writeInbound(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer(string: "are you there")))
        let pong = try #require(try harness.nextFrame())
        #expect(pong.opcode == .pong)
        #expect(pong.maskKey != nil)
        #expect(String(buffer: pong.data) == "are you there")
    }

    @Test func closeFrameMidFlightFailsRequestsAndIsAnswered() throws {
        let harness = try Harness()
        let futures = (0..<2).map { _ in harness.send(.partnerValidate()) }
        _ = try harness.nextRequest()
        _ = try harness.nextRequest()
        var code = ByteBuffer()
        code.write(webSocketErrorCode: .goingAway)
        try harness.channel.writeInbound(WebSocketFrame(fin: true, opcode: .connectionClose, data: code))
        for future in futures {
            #expect(throws: ShieldConexError.connectionClosed) { try Self.outcome(future)?.get() }
        }
        #expect(ShieldConexError.connectionClosed.isRetryable)
        let reply = try #require(try harness.nextFrame())
        #expect(reply.opcode == .connectionClose)
        var data = reply.data
        #expect(data.readWebSocketErrorCode() == .goingAway)
        // Sending after the close fails at once.
        #expect(throws: ShieldConexError.connectionClosed) { try Self.outcome(harness.send(.heartbeat()))?.get() }
    }

    @Test func abruptDropFailsEveryInFlightRequestAtOnce() throws {
        let harness = try Harness()
        let futures = (0..<5).map { _ in harness.send(.partnerValidate()) }
        harness.channel.pipeline.fireChannelInactive()
        for future in futures {
            let result = try #require(Self.outcome(future))
            #expect(throws: ShieldConexError.self) { try result.get() }
            if case .failure(let error as ShieldConexError) = result { #expect(error.isRetryable) }
        }
    }

    /// A request unanswered at its deadline fails with a timeout, and the connection is treated
    /// as dead (half-open): it is closed, and the other requests on it fail at once, retryable,
    /// to go again on another connection.
    @Test func aRequestPastItsTimeoutFailsAndClosesTheConnection() throws {
        var configuration = ConnectionConfiguration()
        configuration.requestTimeout = .seconds(2)
        let harness = try Harness(configuration: configuration)
        let future = harness.send(.partnerValidate())
        _ = try harness.nextRequest()
        harness.loop.advanceTime(by: .milliseconds(1000))
        let later = harness.send(.partnerValidate())
        _ = try harness.nextRequest()
        harness.loop.advanceTime(by: .milliseconds(500))
        #expect(Self.isPending(future))
        harness.loop.advanceTime(by: .seconds(1))
        #expect(throws: ShieldConexError.timeout) { try Self.outcome(future)?.get() }
        #expect(!harness.channel.isActive)
        guard case .failure(let error as ShieldConexError)? = Self.outcome(later) else {
            Issue.record("the other request did not fail with the connection")
            return
        }
        #expect(error.isRetryable && "\(error)".contains("not answered in time"))
    }

    @Test func idleConnectionSendsHeartbeatsAndStaysUpWhenAnswered() throws {
        var configuration = ConnectionConfiguration()
        configuration.heartbeatInterval = .seconds(5)
        configuration.heartbeatTimeout = .seconds(3)
        let harness = try Harness(configuration: configuration)
        harness.loop.advanceTime(by: .seconds(4))
        #expect(try harness.nextFrame() == nil)
        for _ in 0..<3 {
            harness.loop.advanceTime(by: .seconds(2))
            let heartbeat = try harness.nextRequest()
            #expect(heartbeat.actionName == "heartbeat")
            try harness.answer(Response(traceId: heartbeat.traceId!, action: "heartbeat", success: true, timestamp: 1))
            harness.loop.advanceTime(by: .seconds(3))
        }
        #expect(harness.channel.isActive)
    }

    @Test func unansweredHeartbeatMarksTheConnectionDead() throws {
        var configuration = ConnectionConfiguration()
        configuration.heartbeatInterval = .seconds(5)
        configuration.heartbeatTimeout = .seconds(3)
        configuration.requestTimeout = .seconds(60)
        let harness = try Harness(configuration: configuration)
        let future = harness.send(.partnerValidate())
        _ = try harness.nextRequest()
        harness.loop.advanceTime(by: .seconds(6))
        #expect(try harness.nextRequest().actionName == "heartbeat")
        harness.loop.advanceTime(by: .seconds(4))
        #expect(throws: ShieldConexError.heartbeatTimeout) { try Self.outcome(future)?.get() }
        #expect(!harness.channel.isActive)
    }

    /// Heartbeats go on a busy connection too: a half-open one is found within the heartbeat
    /// timeout, not only when a request times out.
    @Test func aBusyConnectionSendsAHeartbeatEveryIntervalToo() throws {
        var configuration = ConnectionConfiguration()
        configuration.heartbeatInterval = .seconds(5)
        let harness = try Harness(configuration: configuration)
        var actions: [String?] = []
        for _ in 0..<4 {
            harness.loop.advanceTime(by: .seconds(3))
            _ = harness.send(.partnerValidate())
            while let frame = try harness.nextFrame() {
                let request = try IncomingRequest.decode(frame.data)
                actions.append(request.actionName)
                if request.actionName == "heartbeat" {
                    try harness.answer(Response(traceId: request.traceId!, action: "heartbeat", success: true, timestamp: 1))
                }
            }
        }
        #expect(actions.filter { $0 == "partner-validate" }.count == 4)
        #expect(actions.filter { $0 == "heartbeat" }.count == 2, "\(actions)")
    }

    @Test func gracefulCloseSendsACloseFrameAndWaitsForTheAnswer() throws {
        let harness = try Harness()
        let closed = harness.loop.makePromise(of: Void.self)
        harness.channel.writeAndFlush(ClientCommand.close(closed), promise: nil)
        let frame = try #require(try harness.nextFrame())
        #expect(frame.opcode == .connectionClose)
        #expect(harness.channel.isActive)
        var code = ByteBuffer()
        code.write(webSocketErrorCode: .normalClosure)
        try harness.channel.writeInbound(WebSocketFrame(fin: true, opcode: .connectionClose, data: code))
        #expect(!harness.channel.isActive)
        #expect(!Self.isPending(closed.futureResult))
    }
}
