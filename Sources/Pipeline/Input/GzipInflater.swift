import CZlib

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `read(2)` (the inflater's own `read` would hide it).
private func readFile(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}

/// Inflates a gzip file as it is read, in constant memory: one member after another (RFC 1952
/// allows concatenated members, as `pigz` and `bgzip` write them), each one's
/// CRC-32 and length checked by zlib. Zero bytes after the last member (tape and block padding)
/// are ignored, as `gzip -d` ignores them; anything else there, a member cut short or a damaged
/// one is an error, never a silent end.
final class GzipInflater {
    private let fd: Int32
    private let stream: UnsafeMutablePointer<z_stream>
    private let input: UnsafeMutablePointer<UInt8>
    private let inputCapacity: Int
    private var inputEnded = false
    /// The last member ended: the next byte starts another one, or padding, or the end.
    private var betweenMembers = false
    /// Compressed bytes read from the file so far.
    private var compressedRead: Int64 = 0
    /// Zero bytes were skipped after the last member: only more of them may follow.
    private var padded = false
    /// An error met after some bytes were inflated: those are returned first (the records in
    /// them are whole), the error at the next read.
    private var pendingError: (any Error)?

    /// Inflates what `fd` gives from its current position (the start of a member), after
    /// `prefix` (bytes already read from it: a stream's first bytes, read to tell its compression).
    /// `compressedStart`: where in the file `fd` stands (a member's start), for ``compressedOffset``.
    init(fd: Int32, prefix: [UInt8] = [], compressedStart: Int64 = 0, inputCapacity: Int = 64 * 1024) throws {
        self.fd = fd
        self.inputCapacity = max(inputCapacity, prefix.count)
        input = .allocate(capacity: self.inputCapacity)
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let result = czlib_inflate_init_gzip(stream)
        guard result == Z_OK else {
            stream.deallocate()
            input.deallocate()
            throw CompressedInputError(.corrupt, compressedOffset: 0, "zlib would not start inflating (\(result))")
        }
        compressedRead = compressedStart
        if !prefix.isEmpty {
            input.update(from: prefix, count: prefix.count)
            stream.pointee.next_in = input
            stream.pointee.avail_in = uInt(prefix.count)
            compressedRead += Int64(prefix.count)
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        input.deallocate()
    }

    /// The compressed bytes consumed so far (where the next compressed byte would come from).
    var compressedOffset: Int64 { compressedRead - Int64(stream.pointee.avail_in) }

    /// Inflates into `buffer` (up to `capacity` bytes); returns how many, 0 only at the end of
    /// the stream.
    func read(into buffer: UnsafeMutableRawPointer, capacity: Int) throws -> Int {
        if let pendingError { throw pendingError }
        guard capacity > 0 else { return 0 }
        do {
            return try inflate(into: buffer, capacity: capacity)
        } catch {
            let produced = min(capacity, Int(UInt32.max)) - Int(stream.pointee.avail_out)
            guard produced > 0 else { throw error }
            pendingError = error
            return produced
        }
    }

    private func inflate(into buffer: UnsafeMutableRawPointer, capacity: Int) throws -> Int {
        stream.pointee.next_out = buffer.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(min(capacity, Int(UInt32.max)))
        let offered = Int(stream.pointee.avail_out)
        while Int(stream.pointee.avail_out) == offered {
            if stream.pointee.avail_in == 0, !inputEnded { try fillInput() }
            if betweenMembers {
                // Zero padding is skipped; anything else must be the next member.
                while stream.pointee.avail_in > 0, stream.pointee.next_in.pointee == 0 {
                    stream.pointee.next_in += 1
                    stream.pointee.avail_in -= 1
                    padded = true
                }
                if stream.pointee.avail_in == 0 {
                    if inputEnded { return 0 }
                    continue
                }
                if padded {
                    throw CompressedInputError(.trailingData, compressedOffset: compressedOffset, "the gzip stream has data after its zero padding at compressed byte \(compressedOffset)"
                    )
                }
                guard inflateReset(stream) == Z_OK else {
                    throw CompressedInputError(.corrupt, compressedOffset: compressedOffset, "zlib would not start the next member")
                }
                betweenMembers = false
            }
            if stream.pointee.avail_in == 0, inputEnded {
                throw CompressedInputError(.truncated, compressedOffset: compressedOffset, "the gzip stream ends early, inside a member (at compressed byte \(compressedOffset)): the file was cut short"
                )
            }
            let result = CZlib.inflate(stream, Z_NO_FLUSH)
            switch result {
            case Z_OK, Z_BUF_ERROR:
                continue
            case Z_STREAM_END:
                betweenMembers = true
                padded = false
            default:
                let reason = stream.pointee.msg.map { String(cString: $0) } ?? "error \(result)"
                throw CompressedInputError(.corrupt, compressedOffset: compressedOffset, "the gzip stream is damaged at compressed byte \(compressedOffset) (\(reason))"
                )
            }
        }
        return offered - Int(stream.pointee.avail_out)
    }

    private func fillInput() throws {
        while true {
            let count = readFile(fd, input, inputCapacity)
            if count < 0 {
                if errno == EINTR { continue }
                throw ChunkedFileReader.IOError(kind: .read, errno: errno, description: "read failed: \(String(cString: strerror(errno)))")
            }
            if count == 0 { inputEnded = true }
            compressedRead += Int64(count)
            stream.pointee.next_in = input
            stream.pointee.avail_in = uInt(count)
            return
        }
    }
}
