import NIOCore
import NIOWebSocket

/// Reads the frames a server sends (RFC 6455 §5) out of the bytes of a connection: whole
/// messages (a text or binary frame, or the fragments of one, joined) and control frames (ping,
/// pong, close, which may come between fragments). No I/O: bytes in, messages out, so that every
/// split of the stream can be tested without a socket.
///
/// What it refuses, as §5 says a client must (the connection is then failed): reserved bits
/// (no extension is negotiated), unknown opcodes, a fragmented or over-long (> 125 bytes)
/// control frame, a continuation with no message to continue or a new message before the last
/// one ended, a length with its top bit set, and frames or messages over the configured sizes.
/// A masked frame (a server must not mask) is unmasked and read: liberal in what it accepts.
struct ServerFrameParser {
    struct Message {
        /// `.text`, `.binary`, `.ping`, `.pong` or `.connectionClose`.
        var opcode: WebSocketOpcode
        var payload: ByteBuffer
    }

    struct ProtocolError: Error, Equatable, CustomStringConvertible {
        /// The close code to fail the connection with: 1002 (protocol error) or 1009 (too big).
        var closeCode: UInt16
        var reason: String
        var description: String { "WebSocket protocol error (\(closeCode)): \(reason)" }
    }

    let maxFrameSize: Int
    let maxMessageSize: Int
    /// The opcode and the fragments so far of a message whose last frame has not come yet.
    private var fragmented: (opcode: WebSocketOpcode, payload: ByteBuffer)?

    init(maxFrameSize: Int, maxMessageSize: Int) {
        self.maxFrameSize = maxFrameSize
        self.maxMessageSize = maxMessageSize
    }

    /// The next message or control frame from the front of `buffer` (its bytes are consumed),
    /// or `nil` when `buffer` holds no whole frame yet (nothing is consumed then). An unmasked
    /// single-frame message's payload is a slice of `buffer`, not a copy.
    mutating func next(from buffer: inout ByteBuffer) throws(ProtocolError) -> Message? {
        while true {
            guard let header = try Self.header(in: buffer) else { return nil }
            guard header.length <= maxFrameSize else {
                throw ProtocolError(closeCode: 1009, reason: "a frame of \(header.length) bytes is over the limit of \(maxFrameSize)")
            }
            guard buffer.readableBytes >= header.size + header.length else { return nil }
            buffer.moveReaderIndex(forwardBy: header.size)
            var payload = buffer.readSlice(length: header.length)!
            if let key = header.maskKey {
                payload.withUnsafeMutableReadableBytes { bytes in
                    MaskedFrameWriting.mask(UnsafeRawBufferPointer(bytes), key: key, into: bytes)
                }
            }
            switch header.opcode {
            case .ping, .pong, .connectionClose:
                guard header.fin else { throw ProtocolError(closeCode: 1002, reason: "a fragmented control frame") }
                guard header.length <= 125 else { throw ProtocolError(closeCode: 1002, reason: "a control frame over 125 bytes") }
                return Message(opcode: header.opcode, payload: payload)
            case .text, .binary:
                guard fragmented == nil else { throw ProtocolError(closeCode: 1002, reason: "a new message before the last one ended") }
                if header.fin { return Message(opcode: header.opcode, payload: payload) }
                guard payload.readableBytes <= maxMessageSize else { throw Self.tooBig(payload.readableBytes, maxMessageSize) }
                // Fragments are copied into a buffer of their own: a slice would pin the read buffer.
                var joined = ByteBufferAllocator().buffer(capacity: payload.readableBytes)
                joined.writeBuffer(&payload)
                fragmented = (header.opcode, joined)
            case .continuation:
                guard var message = fragmented else { throw ProtocolError(closeCode: 1002, reason: "a continuation frame with no message to continue") }
                fragmented = nil
                guard message.payload.readableBytes + payload.readableBytes <= maxMessageSize else {
                    throw Self.tooBig(message.payload.readableBytes + payload.readableBytes, maxMessageSize)
                }
                message.payload.writeBuffer(&payload)
                if header.fin { return Message(opcode: message.opcode, payload: message.payload) }
                fragmented = message
            default:
                throw ProtocolError(closeCode: 1002, reason: "unknown opcode \(header.code)")
            }
        }
    }

    private static func tooBig(_ size: Int, _ limit: Int) -> ProtocolError {
        ProtocolError(closeCode: 1009, reason: "a message of \(size) bytes is over the limit of \(limit)")
    }

    struct Header {
        var fin: Bool
        var opcode: WebSocketOpcode
        /// The opcode's four bits.
        var code: UInt8
        var maskKey: (UInt8, UInt8, UInt8, UInt8)?
        var length: Int
        /// Bytes before the payload.
        var size: Int
    }

    /// The header at the front of `buffer`, or `nil` if it is not all there yet.
    static func header(in buffer: ByteBuffer) throws(ProtocolError) -> Header? {
        let start = buffer.readerIndex
        guard let first = buffer.getInteger(at: start, as: UInt8.self), let second = buffer.getInteger(at: start + 1, as: UInt8.self) else {
            return nil
        }
        guard first & 0x70 == 0 else { throw ProtocolError(closeCode: 1002, reason: "reserved bits set with no extension negotiated") }
        let opcode = WebSocketOpcode(encodedWebSocketOpcode: first & 0x0F)!
        var size = 2
        var length = Int(second & 0x7F)
        if length == 126 {
            guard let extended = buffer.getInteger(at: start + 2, as: UInt16.self) else { return nil }
            length = Int(extended)
            size += 2
        } else if length == 127 {
            guard let extended = buffer.getInteger(at: start + 2, as: UInt64.self) else { return nil }
            guard extended >> 63 == 0 else { throw ProtocolError(closeCode: 1002, reason: "a frame length with its top bit set") }
            // Over Int's range on a 32-bit system is over any limit too.
            length = Int(exactly: extended) ?? Int.max
            size += 8
        }
        var maskKey: (UInt8, UInt8, UInt8, UInt8)?
        if second & 0x80 != 0 {
            guard let key = buffer.getInteger(at: start + size, as: UInt32.self) else { return nil }
            maskKey = (UInt8(key >> 24), UInt8(key >> 16 & 0xFF), UInt8(key >> 8 & 0xFF), UInt8(key & 0xFF))
            size += 4
        }
        return Header(fin: first & 0x80 != 0, opcode: opcode, code: first & 0x0F, maskKey: maskKey, length: length, size: size)
    }
}
