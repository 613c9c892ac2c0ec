#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file through a window of bytes that slides forward, so that memory stays flat
/// whatever the file size. Offsets are absolute positions in the file, or in what a gzip file
/// inflates to: a file that starts with gzip's magic bytes is inflated as it is read
/// (``GzipInflater``), and a position in it is reached by inflating from the start.
final class ChunkedFileReader {
    /// A file the system would not open, seek or read: which (``kind``), the `errno`, and in words.
    struct IOError: Error, Hashable, Sendable, CustomStringConvertible {
        enum Kind: Sendable, Hashable {
            case open, seek, read
            /// Named `.gz`, but not gzip.
            case notGzip
        }
        var kind: Kind
        var errno: Int32
        var description: String
    }

    private let fd: Int32
    private let chunkSize: Int
    /// The window: `bytes[0..<count]` are the file's bytes from `base` on.
    private(set) var bytes: [UInt8]
    private(set) var count = 0
    private(set) var base: Int64
    private(set) var isAtEnd = false
    /// The inflater of a gzip file; `nil` for a plain one.
    private let inflater: GzipInflater?
    /// For a gzip file, the compressed bytes consumed so far.
    var compressedOffset: Int64? { inflater?.compressedOffset }

    init(path: String, offset: Int64 = 0, chunkSize: Int = 256 * 1024) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        self.fd = fd
        guard fd >= 0 else {
            throw IOError(kind: .open, errno: errno, description: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        do {
            let isGzip = InputCompression.of(fd: fd) == .gzip
            if !isGzip, path.hasSuffix(".gz") {
                throw IOError(kind: .notGzip, errno: 0, description: "\(path) is named .gz but is not gzip (it does not start with gzip's magic bytes): rename it, or give the compressed file")
            }
            inflater = isGzip ? try GzipInflater(fd: fd) : nil
        } catch {
            close(fd)
            throw error
        }
        self.chunkSize = chunkSize
        self.base = offset
        self.bytes = [UInt8](repeating: 0, count: chunkSize)
        guard offset > 0 else { return }
        if let inflater {
            // No seeking in a deflate stream: inflate up to the position, keeping nothing.
            var remaining = offset
            try bytes.withUnsafeMutableBytes { buffer in
                while remaining > 0 {
                    let count = try inflater.read(into: buffer.baseAddress!, capacity: Int(min(Int64(buffer.count), remaining)))
                    guard count > 0 else {
                        throw IOError(
                            kind: .seek, errno: 0, description: "\(path) inflates to \(offset - remaining) bytes, fewer than the \(offset) to resume from"
                        )
                    }
                    remaining -= Int64(count)
                }
            }
        } else if lseek(fd, off_t(offset), SEEK_SET) < 0 {
            // (Closed by deinit: every property is set.)
            throw IOError(kind: .seek, errno: errno, description: "cannot seek \(path) to \(offset): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(fd) }

    /// Drops the bytes before `keepFrom` and reads more after what is kept. Returns whether
    /// anything new was read (false at the end of the file).
    func refill(keepingFrom keepFrom: Int) throws -> Bool {
        let kept = count - keepFrom
        if keepFrom > 0 {
            bytes.withUnsafeMutableBufferPointer { buffer in
                guard kept > 0 else { return }
                let base = buffer.baseAddress!
                base.update(from: base + keepFrom, count: kept)
            }
            base += Int64(keepFrom)
            count = kept
        }
        if isAtEnd { return false }
        if bytes.count - count < chunkSize / 2 {
            // A record larger than the window: grow it (bounded by the callers' record size limit).
            bytes.append(contentsOf: repeatElement(0, count: max(chunkSize, bytes.count)))
        }
        let readCount = try bytes.withUnsafeMutableBytes { buffer -> Int in
            if let inflater { return try inflater.read(into: buffer.baseAddress! + count, capacity: buffer.count - count) }
            while true {
                let result = read(fd, buffer.baseAddress! + count, buffer.count - count)
                if result < 0, errno == EINTR { continue }
                return result
            }
        }
        guard readCount >= 0 else {
            throw IOError(kind: .read, errno: errno, description: "read failed: \(String(cString: strerror(errno)))")
        }
        if readCount == 0 {
            isAtEnd = true
            return false
        }
        count += readCount
        return true
    }

    /// The window shrinks back after a large record has passed.
    func shrinkIfIdle() {
        if bytes.count > chunkSize * 4, count < chunkSize {
            bytes = Array(bytes[0..<count]) + [UInt8](repeating: 0, count: chunkSize)
        }
    }
}
