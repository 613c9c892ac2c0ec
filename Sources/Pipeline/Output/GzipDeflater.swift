import CZlib

/// Deflates bytes into gzip members (RFC 1952) with zlib: ``deflate(_:into:)`` adds to the open
/// member, ``syncFlush(into:)`` hands out every byte deflated so far (the open member then ends at
/// a byte boundary, after an empty stored block: what follows can be cut off and the member closed
/// by ``GzipMemberCloser``), ``finishMember(into:)`` ends it (its CRC-32 and length written) so that
/// the bytes so far are a whole gzip file, and the next byte starts another member. Compressed
/// bytes are handed to `into` as they come, from a buffer of the deflater's own.
final class GzipDeflater: GzipEncoder {
    typealias Failure = GzipEncoderFailure

    /// A sync flush costs a few bytes, whatever the spacing.
    var pointSpacing: Int { 0 }
    var pointEndsMember: Bool { false }

    private let stream: UnsafeMutablePointer<z_stream>
    private let output: UnsafeMutablePointer<UInt8>
    private let outputCapacity: Int

    /// `level`: zlib's, 1 (fastest) to 9 (smallest).
    init(level: Int32, outputCapacity: Int = 64 * 1024) throws {
        self.outputCapacity = outputCapacity
        output = .allocate(capacity: outputCapacity)
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let result = czlib_deflate_init_gzip(stream, level)
        guard result == Z_OK else {
            stream.deallocate()
            output.deallocate()
            throw Failure(description: "zlib would not start deflating (\(result))")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
        output.deallocate()
    }

    /// Adds `bytes` to the open member (starting one if none is open).
    func deflate(_ bytes: UnsafeRawBufferPointer, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var start = 0
        while start < bytes.count {
            // avail_in is 32 bits wide.
            let count = min(bytes.count - start, Int(UInt32.max))
            stream.pointee.next_in = UnsafeMutablePointer(mutating: (base + start).assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(count)
            try run(Z_NO_FLUSH, into: sink)
            start += count
        }
    }

    func add(_ bytes: UnsafeRawBufferPointer, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try deflate(bytes, into: sink)
    }

    func point(into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try syncFlush(into: sink)
    }

    /// Hands out everything deflated so far, ending at a byte boundary (zlib's `Z_SYNC_FLUSH`).
    func syncFlush(into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        try run(Z_SYNC_FLUSH, into: sink)
    }

    /// Ends the open member: its last block, CRC-32 and length go out, and the stream is ready
    /// for the next member.
    func finishMember(into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        try run(Z_FINISH, into: sink)
        guard deflateReset(stream) == Z_OK else { throw Failure(description: "zlib would not start a new gzip member") }
    }

    /// Runs deflate with `flush` until it has taken every input byte (and, finishing, written the
    /// member's end), handing each full output buffer to `sink`.
    private func run(_ flush: Int32, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        while true {
            stream.pointee.next_out = output
            stream.pointee.avail_out = uInt(outputCapacity)
            let result = CZlib.deflate(stream, flush)
            let produced = outputCapacity - Int(stream.pointee.avail_out)
            if produced > 0 { try sink(UnsafeRawBufferPointer(start: output, count: produced)) }
            switch result {
            case Z_STREAM_END:
                return
            case Z_OK, Z_BUF_ERROR:
                // More to come while the output buffer was filled; done when the input is taken
                // (and, flushing, everything handed out: a second flush with nothing new is a
                // Z_BUF_ERROR with nothing to do).
                if flush != Z_FINISH && stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 { return }
                if result == Z_BUF_ERROR && produced == 0 { throw Failure(description: "zlib made no progress deflating (\(result))") }
            default:
                throw Failure(description: "zlib failed deflating (\(result))")
            }
        }
    }
}
