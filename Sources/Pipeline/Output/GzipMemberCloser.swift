import CZlib

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Closes the gzip member that a file cut back to a sync-flush point (``GzipDeflater/syncFlush(into:)``)
/// ends inside: the member's data is inflated from its start, and its end written after it (an
/// empty final block, the CRC-32 of what the member holds and its length), so that the file is
/// whole gzip again and the next member can follow. A resume takes up a gzip output this way at a
/// point between commits: the lines up to it stay, their tokens never needed.
enum GzipMemberCloser {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The bytes that close the open member of the file at `path` whose members (one or more)
    /// start at `start` and which is cut at `end`; empty when the last member there is whole.
    static func closing(path: String, from start: Int64, to end: Int64) throws -> [UInt8] {
        guard end > start else { return [] }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw Failure(description: "cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        guard czlib_inflate_init_gzip(stream) == Z_OK else { throw Failure(description: "zlib would not start inflating") }
        defer { inflateEnd(stream) }
        let capacity = 256 * 1024
        let input = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        let output = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer {
            input.deallocate()
            output.deallocate()
        }
        var position = start
        var memberOpen = false
        while position < end {
            let count = pread(fd, input, min(capacity, Int(end - position)), off_t(position))
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw Failure(description: "\(path) ends before byte \(end)") }
            position += Int64(count)
            stream.pointee.next_in = input
            stream.pointee.avail_in = uInt(count)
            // Until the chunk is taken and inflate has nothing more to hand out.
            repeat {
                if !memberOpen {
                    // A member ended with the chunk: the next starts with the next chunk.
                    guard stream.pointee.avail_in > 0 else { break }
                    guard inflateReset(stream) == Z_OK else { throw Failure(description: "zlib would not start a member") }
                    memberOpen = true
                }
                stream.pointee.next_out = output
                stream.pointee.avail_out = uInt(capacity)
                let result = CZlib.inflate(stream, Z_NO_FLUSH)
                switch result {
                case Z_STREAM_END:
                    memberOpen = false
                case Z_OK, Z_BUF_ERROR:
                    break
                default:
                    let reason = stream.pointee.msg.map { String(cString: $0) } ?? "error \(result)"
                    throw Failure(description: "\(path) is damaged before its committed end (\(reason))")
                }
            } while stream.pointee.avail_in > 0 || stream.pointee.avail_out == 0
        }
        guard memberOpen else { return [] }
        // Everything before the cut inflated (a sync flush leaves nothing pending): the member's
        // CRC-32 and length so far are zlib's (`adler` holds the CRC-32 of a gzip stream).
        var out: [UInt8] = [0x03, 0x00]  // a final, empty block with the fixed codes
        let crc = UInt32(truncatingIfNeeded: stream.pointee.adler)
        let size = UInt32(truncatingIfNeeded: stream.pointee.total_out)
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: crc >> UInt32(shift))) }
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: size >> UInt32(shift))) }
        return out
    }
}
