import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import ShieldConex

/// Frames the client makes itself (a batch of requests as one buffer, past NIO's frame encoder)
/// must be what any server's decoder reads: here NIO's own, on the server side.
@Suite struct MaskedFrameTests {
    /// Every frame the server side decodes from `bytes`.
    static func serverFrames(_ bytes: ByteBuffer) throws -> [WebSocketFrame] {
        let server = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 20)))
        try server.writeInbound(bytes)
        var frames: [WebSocketFrame] = []
        while let frame = try server.readInbound(as: WebSocketFrame.self) { frames.append(frame) }
        return frames
    }

    /// Each length form (7, 16 and 64 bits) and each tail of the 8-byte masking loop.
    @Test(arguments: [0, 1, 3, 7, 8, 9, 15, 16, 17, 125, 126, 127, 1_000, 65_535, 65_536, 70_001])
    func aFrameMadeHereIsWhatTheServerReads(length: Int) throws {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let key = try #require(WebSocketMaskingKey([0x12, 0xA4, 0x56, 0xF8]))
        var buffer = ByteBuffer()
        payload.withUnsafeBytes { MaskedFrameWriting.appendTextFrame($0, key: key, to: &buffer) }
        let frames = try Self.serverFrames(buffer)
        let frame = try #require(frames.first)
        #expect(frames.count == 1)
        #expect(frame.fin && frame.opcode == .text && frame.maskKey == key)
        #expect(Array(buffer: frame.unmaskedData) == payload)
        if length >= 8 {
            #expect(Array(buffer: frame.data) != payload, "masked on the wire")
        }
    }

    /// The server side's unmasking, 8 bytes at a time, gives what NIO's gives, at every length
    /// and with a payload that does not start at the buffer's first byte.
    @Test(arguments: [0, 1, 7, 8, 9, 16, 17, 300, 65_537])
    func unmaskedPayloadIsNIOsUnmaskedData(length: Int) throws {
        let key = try #require(WebSocketMaskingKey([0x9C, 0x01, 0x7E, 0xD2]))
        var data = ByteBuffer(bytes: [0xEE, 0xEE, 0xEE])
        data.moveReaderIndex(forwardBy: 3)
        data.writeBytes((0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
        let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: key, data: data)
        #expect(frame.unmaskedPayload == frame.unmaskedData)
        #expect(frame.data == data, "the frame's own bytes are left as they were")
        let unmasked = WebSocketFrame(fin: true, opcode: .text, data: data)
        #expect(unmasked.unmaskedPayload == data)
    }

    final class Answers: AnswerReceiver, @unchecked Sendable {
        var received: [Int: Response] = [:]
        func received(_ result: Result<Response, any Error>, tag: Int) { received[tag] = try? result.get() }
    }

    /// A batch leaves as one buffer holding one masked frame per request, in order; a heartbeat
    /// written after it (through the frame encoder) comes after it on the wire, and the answers
    /// reach the receiver with their tags.
    @Test func aBatchLeavesAsOneWriteOfFramesInOrder() throws {
        let channel = EmbeddedChannel()
        let gate = RawFrameGate()
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(gate)
        try sync.addHandler(WebSocketFrameEncoder())
        try sync.addHandler(NIOWebSocketFrameAggregator(minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 64, maxAccumulatedFrameSize: 1 << 20))
        var configuration = ConnectionConfiguration()
        configuration.heartbeatInterval = .seconds(1)
        try sync.addHandler(ShieldConexClientHandler(configuration: configuration, logger: Logger(label: "test"), frameGate: gate))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()

        let answers = Answers()
        let requests = (0..<3).map { Request.tokenize(templateRef: "t", values: [FieldValue(name: "f", value: String(repeating: "v", count: 60 * $0 + 1))]) }
        channel.writeAndFlush(ClientCommand.sendAll(RequestBatch(requests: requests, tags: [10, 11, 12], receiver: answers)), promise: nil)
        let batch = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "one write")
        let frames = try Self.serverFrames(batch)
        #expect(frames.count == 3 && frames.allSatisfy { $0.fin && $0.opcode == .text && $0.maskKey != nil })
        let incoming = try frames.map { try IncomingRequest.decode($0.unmaskedData) }
        #expect(incoming.map(\.request) == requests)

        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        var after = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) { after.writeBuffer(&part) }
        let heartbeat = try #require(try Self.serverFrames(after).first)
        #expect(try IncomingRequest.decode(heartbeat.unmaskedData).actionName == "heartbeat")

        for (index, request) in incoming.enumerated().reversed() {
            var buffer = ByteBuffer()
            Response(traceId: request.traceId!, success: true, bfid: "bfid-\(index)").encode(into: &buffer)
            try channel.writeInbound(WebSocketFrame(fin: true, opcode: .text, data: buffer))
        }
        #expect(answers.received.mapValues(\.bfid) == [10: "bfid-0", 11: "bfid-1", 12: "bfid-2"])
    }
}
