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
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CompressedInputError(.corrupt, compressedOffset: 0, "cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        guard czlib_inflate_init_gzip(stream) == Z_OK else { throw CompressedInputError(.corrupt, compressedOffset: 0, "zlib would not start inflating") }
        defer { inflateEnd(stream) }
        let capacity = 256 * 1024
        let input = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        let output = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer {
            input.deallocate()
            output.deallocate()
        }
        var members = [GzipMember(compressedOffset: 0, inflatedOffset: 0)]
        var read: Int64 = 0
        var inflated: Int64 = 0
        var between = false
        while true {
            if stream.pointee.avail_in == 0 {
                let count = Glibc.read(fd, input, capacity)
                if count < 0, errno == EINTR { continue }
                guard count >= 0 else { throw CompressedInputError(.corrupt, compressedOffset: read, "cannot read \(path): \(String(cString: strerror(errno)))") }
                if count == 0 {
                    guard between else { throw CompressedInputError(.truncated, compressedOffset: read, "\(path) ends inside a gzip member") }
                    return (members, inflated)
                }
                read += Int64(count)
                stream.pointee.next_in = input
                stream.pointee.avail_in = uInt(count)
            }
            if between {
                // Zero padding ends the file (as the reader takes it); anything else is a member.
                if stream.pointee.next_in.pointee == 0 { return (members, inflated) }
                guard inflateReset(stream) == Z_OK else { throw CompressedInputError(.corrupt, compressedOffset: read, "zlib would not start a member") }
                members.append(GzipMember(compressedOffset: read - Int64(stream.pointee.avail_in), inflatedOffset: inflated))
                between = false
            }
            stream.pointee.next_out = output
            stream.pointee.avail_out = uInt(capacity)
            let result = CZlib.inflate(stream, Z_NO_FLUSH)
            inflated += Int64(capacity - Int(stream.pointee.avail_out))
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
