import CZlib

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a gzip member starts: its first compressed byte, and how many bytes the members before
/// it inflate to. A reader can start inflating there (``ChunkedFileReader``) instead of at the
/// file's start: a file of many members (`pigz -i`, `bgzip`, our own gzip output) is cut into
/// shards that each start at a member near their first record.
public struct GzipMember: Codable, Sendable, Hashable {
    public var compressedOffset: Int64
    public var inflatedOffset: Int64

    public init(compressedOffset: Int64, inflatedOffset: Int64) {
        self.compressedOffset = compressedOffset
        self.inflatedOffset = inflatedOffset
    }

    /// The members of the gzip file at `path`, in order (the first at 0, 0), and what the whole
    /// inflates to. One pass of inflating, in constant memory but for the list (16 bytes a member).
    public static func scan(path: String) throws -> (members: [GzipMember], inflatedSize: Int64) {
        var members: [GzipMember] = []
        let walked = try walk(path: path, from: 0, to: nil) { members.append($0) }
        guard walked.open == nil else { throw CompressedInputError(.truncated, compressedOffset: walked.end, "\(path) ends inside a gzip member") }
        return (members, walked.inflated)
    }

    /// The end of a walk over members: the compressed bytes read, what they inflated to, and, when
    /// they end inside a member, that member's CRC-32 and length so far.
    struct Walk {
        var end: Int64
        var inflated: Int64
        var open: (crc: UInt32, size: UInt32)?
    }

    /// Inflates the members of the file at `path` from `start` (a member's start) up to `end`
    /// (`nil`: the file's end, where zero padding ends it as the reader takes it), handing each
    /// member's start to `found` (inflated offsets counted from `start`).
    static func walk(path: String, from start: Int64, to end: Int64?, found: (GzipMember) -> Void = { _ in }) throws -> Walk {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw CompressedInputError(.corrupt, compressedOffset: start, "cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        guard czlib_inflate_init_gzip(stream) == Z_OK else { throw CompressedInputError(.corrupt, compressedOffset: start, "zlib would not start inflating") }
        defer { inflateEnd(stream) }
        let capacity = 256 * 1024
        let input = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        let output = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer {
            input.deallocate()
            output.deallocate()
        }
        var read = start
        var inflated: Int64 = 0
        var between = true
        // Inflate handed out all it had (its output buffer was not filled): only then is more input needed.
        var drained = true
        var walk: Walk { Walk(end: read, inflated: inflated, open: between ? nil : (UInt32(truncatingIfNeeded: stream.pointee.adler), UInt32(truncatingIfNeeded: stream.pointee.total_out))) }
        while true {
            if stream.pointee.avail_in == 0, between || drained {
                let wanted = end.map { Int(min(Int64(capacity), $0 - read)) } ?? capacity
                guard wanted > 0 else { return walk }
                let count = pread(fd, input, wanted, off_t(read))
                if count < 0, errno == EINTR { continue }
                guard count >= 0 else { throw CompressedInputError(.corrupt, compressedOffset: read, "cannot read \(path): \(String(cString: strerror(errno)))") }
                if count == 0 {
                    guard end == nil else { throw CompressedInputError(.truncated, compressedOffset: read, "\(path) ends before byte \(end!)") }
                    return walk
                }
                read += Int64(count)
                stream.pointee.next_in = input
                stream.pointee.avail_in = uInt(count)
            }
            if between {
                // Zero padding ends the file (as the reader takes it); anything else is a member.
                if end == nil, stream.pointee.next_in.pointee == 0 { return walk }
                guard inflateReset(stream) == Z_OK else { throw CompressedInputError(.corrupt, compressedOffset: read, "zlib would not start a member") }
                found(GzipMember(compressedOffset: read - Int64(stream.pointee.avail_in), inflatedOffset: inflated))
                between = false
            }
            stream.pointee.next_out = output
            stream.pointee.avail_out = uInt(capacity)
            let result = CZlib.inflate(stream, Z_NO_FLUSH)
            inflated += Int64(capacity - Int(stream.pointee.avail_out))
            drained = stream.pointee.avail_out > 0
            switch result {
            case Z_STREAM_END: between = true
            case Z_OK, Z_BUF_ERROR: break
            default:
                let offset = read - Int64(stream.pointee.avail_in)
                throw CompressedInputError(.corrupt, compressedOffset: offset, "\(path) is damaged at compressed byte \(offset)")
            }
        }
    }
}
