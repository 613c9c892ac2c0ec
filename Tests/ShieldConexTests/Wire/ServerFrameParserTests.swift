import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import ShieldConex

/// The client's reading of the server's frames: every split of the stream, every length form,
/// fragments with control frames between them, masked frames, and each violation that RFC 6455
/// says fails the connection.
@Suite struct ServerFrameParserTests {
    /// One frame's bytes: `length` overrides the payload's length field (for broken frames).
    static func frame(
        _ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, rsv: UInt8 = 0, mask: [UInt8]? = nil, length: UInt64? = nil
    ) -> [UInt8] {
        var bytes: [UInt8] = [(fin ? 0x80 : 0) | rsv | opcode]
        let count = length ?? UInt64(payload.count)
        let maskBit: UInt8 = mask == nil ? 0 : 0x80
        if count < 126 {
            bytes.append(maskBit | UInt8(count))
        } else if count <= 0xFFFF {
            bytes.append(maskBit | 126)
            bytes += [UInt8(count >> 8), UInt8(count & 0xFF)]
        } else {
            bytes.append(maskBit | 127)
            bytes += (0..<8).reversed().map { UInt8(truncatingIfNeeded: count >> (8 * UInt64($0))) }
        }
        if let mask {
            bytes += mask
            bytes += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        } else {
            bytes += payload
        }
        return bytes
    }

    static func text(_ count: Int, seed: Int) -> [UInt8] {
        (0..<count).map { UInt8(ascii: "a") + UInt8(($0 &* 7 &+ seed) % 26) }
    }

    struct Seen: Equatable, CustomStringConvertible {
        var opcode: UInt8
        var payload: [UInt8]
        var description: String { "\(opcode):\(payload.count)" }
    }

    /// Parses `stream` given in two reads split at `split`, as the reader does (the unread
    /// rest of the first read kept and the second appended to it).
    static func parse(_ stream: [UInt8], split: Int, maxFrame: Int = 1 << 20, maxMessage: Int = 1 << 20) throws(ServerFrameParser.ProtocolError) -> [Seen] {
        var parser = ServerFrameParser(maxFrameSize: maxFrame, maxMessageSize: maxMessage)
        var seen: [Seen] = []
        var buffer = ByteBuffer(bytes: stream[..<split])
        while let message = try parser.next(from: &buffer) { seen.append(Seen(opcode: code(message.opcode), payload: Array(buffer: message.payload))) }
        buffer.writeBytes(stream[split...])
        while let message = try parser.next(from: &buffer) { seen.append(Seen(opcode: code(message.opcode), payload: Array(buffer: message.payload))) }
        #expect(buffer.readableBytes == 0)
        return seen
    }

    static func code(_ opcode: WebSocketOpcode) -> UInt8 {
        switch opcode {
        case .continuation: 0
        case .text: 1
        case .binary: 2
        case .connectionClose: 8
        case .ping: 9
        case .pong: 10
        default: 0xFF
        }
    }

    @Test func everySplitOfAStreamGivesTheSameMessages() throws {
        let long = Self.text(70_000, seed: 3)
        let medium = Self.text(300, seed: 5)
        var stream: [UInt8] = []
        stream += Self.frame(1, Self.text(10, seed: 1))
        stream += Self.frame(1, medium, mask: [1, 2, 3, 4])  // a masked frame from a server: read, unmasked
        stream += Self.frame(1, Array(long[..<30_000]), fin: false)
        stream += Self.frame(9, [7, 7])  // a ping between fragments
        stream += Self.frame(0, Array(long[30_000..<69_000]), fin: false)
        stream += Self.frame(0, Array(long[69_000...]))
        stream += Self.frame(2, [], fin: true)
        stream += Self.frame(10, [])
        stream += Self.frame(8, [0x03, 0xE8])
        let expected = [
            Seen(opcode: 1, payload: Self.text(10, seed: 1)), Seen(opcode: 1, payload: medium), Seen(opcode: 9, payload: [7, 7]),
            Seen(opcode: 1, payload: long), Seen(opcode: 2, payload: []), Seen(opcode: 10, payload: []), Seen(opcode: 8, payload: [0x03, 0xE8]),
        ]
        // Every split near the frame boundaries and headers, and a stride through the rest.
        var splits = Set(Array(0...400) + Array(stride(from: 400, through: stream.count, by: 997)) + [stream.count])
        splits.formUnion((stream.count - 300)...stream.count)
        for split in splits.sorted() {
            let seen = try Self.parse(stream, split: split)
            #expect(seen == expected, "split at \(split)")
        }
    }

    @Test(arguments: [0, 1, 125, 126, 127, 65_535, 65_536, 100_000])
    func eachLengthFormIsRead(length: Int) throws {
        let payload = Self.text(length, seed: length)
        let stream = Self.frame(1, payload)
        #expect(try Self.parse(stream, split: min(stream.count, 3)) == [Seen(opcode: 1, payload: payload)])
    }

    static let violations: [(name: String, stream: [UInt8], code: UInt16)] = [
        ("reserved bit", frame(1, [1], rsv: 0x40), 1002),
        ("unknown opcode", frame(3, [1]), 1002),
        ("unknown control opcode", frame(0xB, []), 1002),
        ("fragmented ping", frame(9, [], fin: false), 1002),
        ("ping over 125 bytes", frame(9, text(126, seed: 0)), 1002),
        ("continuation with no message", frame(0, [1]), 1002),
        ("a new message inside another", frame(1, [1], fin: false) + frame(1, [2]), 1002),
        ("length with its top bit set", frame(1, [], length: 1 << 63), 1002),
        ("frame over the limit", frame(1, text(1_001, seed: 0)), 1009),
        ("message over the limit", frame(1, text(600, seed: 0), fin: false) + frame(0, text(600, seed: 1)), 1009),
    ]

    @Test(arguments: 0..<violations.count)
    func violationsFailWithTheirCloseCode(index: Int) {
        let (name, stream, code) = Self.violations[index]
        do {
            let seen = try Self.parse(stream, split: stream.count, maxFrame: 1_000, maxMessage: 1_000)
            Issue.record("\(name): read as \(seen)")
        } catch {
            #expect(error.closeCode == code, "\(name)")
        }
    }

    final class Answers: AnswerReceiver, @unchecked Sendable {
        var received: [Int: Response] = [:]
        func received(_ result: Result<Response, any Error>, tag: Int) { received[tag] = try? result.get() }
    }

    /// A client pipeline as a connection builds it after the upgrade.
    static func clientPipeline() throws -> (EmbeddedChannel, ShieldConexClientHandler) {
        let channel = EmbeddedChannel()
        let sync = channel.pipeline.syncOperations
        let gate = RawFrameGate()
        try sync.addHandler(gate)
        try sync.addHandler(WebSocketFrameEncoder())
        let handler = ShieldConexClientHandler(configuration: ConnectionConfiguration(), logger: Logger(label: "test"), frameGate: gate)
        try sync.addHandler(ServerFrameReader(handler: handler, maxFrameSize: 1 << 16, maxMessageSize: 1 << 16))
        try sync.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, handler)
    }

    /// Answers reach the receiver whatever the reads' boundaries (a byte at a time here), and a
    /// ping is answered with a pong carrying its payload.
    @Test func answersArriveWhateverTheReadsBoundaries() throws {
        let (channel, _) = try Self.clientPipeline()
        let answers = Answers()
        let requests = (0..<3).map { Request.tokenize(templateRef: "t", values: [FieldValue(name: "f", value: "v\($0)")]) }
        channel.writeAndFlush(ClientCommand.sendAll(RequestBatch(requests: requests, tags: [10, 11, 12], receiver: answers)), promise: nil)
        let batch = try #require(try channel.readOutbound(as: ByteBuffer.self))
        let sent = try MaskedFrameTests.serverFrames(batch)
        let traceIds = try sent.map { try #require(try IncomingRequest.decode($0.unmaskedData).traceId) }
        var stream: [UInt8] = []
        for (index, traceId) in traceIds.enumerated().reversed() {
            var buffer = ByteBuffer()
            Response(traceId: traceId, success: true, bfid: "bfid-\(index)").encode(into: &buffer)
            stream += Self.frame(1, Array(buffer: buffer))
            if index == 1 { stream += Self.frame(9, [4, 2]) }
        }
        for byte in stream { try channel.writeInbound(ByteBuffer(bytes: [byte])) }
        #expect(answers.received.mapValues(\.bfid) == [10: "bfid-0", 11: "bfid-1", 12: "bfid-2"])
        let written = try Self.drainOutbound(channel)
        let pong = try #require(try MaskedFrameTests.serverFrames(written).first)
        #expect(pong.opcode == .pong && Array(buffer: pong.unmaskedData) == [4, 2] && pong.maskKey != nil)
    }

    /// A protocol violation fails the connection: a close frame with 1002, the channel closed,
    /// and the requests in flight failed (to be sent again elsewhere).
    @Test func aViolationClosesWith1002AndFailsTheRequestsInFlight() throws {
        let (channel, _) = try Self.clientPipeline()
        let answers = Failures()
        channel.writeAndFlush(ClientCommand.sendAll(RequestBatch(requests: [.tokenize(templateRef: "t", values: [FieldValue(name: "f", value: "v")])], tags: [7], receiver: answers)), promise: nil)
        _ = try channel.readOutbound(as: ByteBuffer.self)
        try channel.writeInbound(ByteBuffer(bytes: Self.frame(1, [1], rsv: 0x20)))
        let written = try Self.drainOutbound(channel)
        let close = try #require(try MaskedFrameTests.serverFrames(written).first)
        #expect(close.opcode == .connectionClose && close.unmaskedData.getInteger(at: close.unmaskedData.readerIndex, as: UInt16.self) == 1002)
        #expect(!channel.isActive)
        #expect(answers.failed == [7])
    }

    /// Everything written since the last read (the frame encoder writes a header and a payload).
    static func drainOutbound(_ channel: EmbeddedChannel) throws -> ByteBuffer {
        var all = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) { all.writeBuffer(&part) }
        return all
    }

    final class Failures: AnswerReceiver, @unchecked Sendable {
        var failed: [Int] = []
        func received(_ result: Result<Response, any Error>, tag: Int) { if case .failure = result { failed.append(tag) } }
    }
}
