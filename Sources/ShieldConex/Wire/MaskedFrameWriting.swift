import NIOCore
import NIOWebSocket

/// Client text frames written straight into one buffer (RFC 6455 §5.2: FIN, opcode 1, the
/// mask bit, the payload length in 7, 16 or 64 bits, the masking key, the masked payload): a
/// batch of requests becomes one buffer and one write, instead of one `WebSocketFrame`, one
/// buffer and one trip through the frame encoder each. The masking copies 8 bytes at a time.
enum MaskedFrameWriting {
    /// Appends `payload` to `buffer` as one final, masked text frame.
    static func appendTextFrame(_ payload: UnsafeRawBufferPointer, key: WebSocketMaskingKey, to buffer: inout ByteBuffer) {
        appendTextFrame(length: payload.count, key: key, to: &buffer) { $0.copyMemory(from: payload) }
    }

    /// Appends a final, masked text frame of `length` bytes that `write` puts straight into the
    /// buffer (it must fill all of them); they are then masked where they are: one copy of the
    /// payload, not two.
    static func appendTextFrame(
        length count: Int, key: WebSocketMaskingKey, to buffer: inout ByteBuffer, _ write: (UnsafeMutableRawBufferPointer) -> Void
    ) {
        buffer.writeInteger(UInt8(0x81))
        if count < 126 {
            buffer.writeInteger(UInt8(0x80 | count))
        } else if count <= Int(UInt16.max) {
            buffer.writeInteger(UInt8(0x80 | 126))
            buffer.writeInteger(UInt16(count))
        } else {
            buffer.writeInteger(UInt8(0x80 | 127))
            buffer.writeInteger(UInt64(count))
        }
        let keyBytes = (key[0], key[1], key[2], key[3])
        buffer.writeInteger(UInt32(keyBytes.0) << 24 | UInt32(keyBytes.1) << 16 | UInt32(keyBytes.2) << 8 | UInt32(keyBytes.3))
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { out in
            let payload = UnsafeMutableRawBufferPointer(rebasing: out[..<count])
            write(payload)
            mask(UnsafeRawBufferPointer(payload), key: keyBytes, into: payload)
            return count
        }
    }

    /// `out[i] = payload[i] ^ key[i % 4]` for every byte of `payload`.
    static func mask(_ payload: UnsafeRawBufferPointer, key: (UInt8, UInt8, UInt8, UInt8), into out: UnsafeMutableRawBufferPointer) {
        let count = payload.count
        guard count > 0, let source = payload.baseAddress, let target = out.baseAddress else { return }
        // The key repeated over a 64-bit word, in memory order (the loads below are in memory order too).
        let word = withUnsafeBytes(of: (key.0, key.1, key.2, key.3, key.0, key.1, key.2, key.3)) { $0.loadUnaligned(as: UInt64.self) }
        var offset = 0
        while offset + 8 <= count {
            let value = source.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            target.storeBytes(of: value ^ word, toByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        // `offset` is a multiple of 8 here: the rest lines up with the word's bytes.
        withUnsafeBytes(of: word) { keyBytes in
            while offset < count {
                let byte = source.load(fromByteOffset: offset, as: UInt8.self) ^ keyBytes[offset & 7]
                target.storeBytes(of: byte, toByteOffset: offset, as: UInt8.self)
                offset += 1
            }
        }
    }
}

extension WebSocketFrame {
    /// The payload without its mask, as NIO's `unmaskedData` gives it, unmasked 8 bytes at a time
    /// (NIO's goes byte by byte).
    public var unmaskedPayload: ByteBuffer {
        guard let key = maskKey else { return data }
        var payload = data
        let keyBytes = (key[0], key[1], key[2], key[3])
        payload.withUnsafeMutableReadableBytes { bytes in
            MaskedFrameWriting.mask(UnsafeRawBufferPointer(bytes), key: keyBytes, into: bytes)
        }
        return payload
    }
}

/// Sits between the WebSocket frame encoder and the socket, and lets the client handler write
/// whole frames it has made itself (``MaskedFrameWriting``) past the encoder. Everything else
/// passes through untouched, in order: the loop runs one write at a time.
final class RawFrameGate: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
    }

    /// Writes bytes that are already WebSocket frames; `false` once the gate is out of the pipeline.
    func writeFrames(_ frames: ByteBuffer) -> Bool {
        guard let context else { return false }
        context.write(NIOAny(frames), promise: nil)
        return true
    }
}

@available(*, unavailable)
extension RawFrameGate: Sendable {}
