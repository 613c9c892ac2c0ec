#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An output file written through a buffer: bytes are collected and written in large blocks;
/// `flush()` hands them to the kernel, `sync()` makes them durable. `offset` counts every byte
/// written so far, buffered or not, so a checkpoint can record where the file ends.
public final class OutputFile {
    public struct IOError: Error, CustomStringConvertible {
        public var description: String
    }

    public let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private let bufferLimit: Int
    public private(set) var offset: Int64

    /// Opens `path` for writing with `mode` (0600 by default), truncated to `truncateTo` bytes
    /// (0: a new, empty file) and positioned at its end.
    public init(path: String, mode: mode_t = 0o600, truncateTo length: Int64 = 0, bufferLimit: Int = 256 * 1024) throws {
        self.path = path
        self.bufferLimit = bufferLimit
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, mode)
        guard fd >= 0 else { throw IOError(description: "cannot open \(path) for writing: \(String(cString: strerror(errno)))") }
        var info = stat()
        let isRegular = fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
        // Devices and pipes (/dev/null, a FIFO) are written as they are.
        guard !isRegular || (ftruncate(fd, off_t(length)) == 0 && lseek(fd, off_t(length), SEEK_SET) >= 0) else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw IOError(description: "cannot truncate \(path) to \(length) bytes: \(reason)")
        }
        offset = length
        buffer.reserveCapacity(bufferLimit)
    }

    deinit { close(fd) }

    public func write(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        offset += Int64(bytes.count)
        if buffer.count >= bufferLimit { try flush() }
    }

    /// Writes the buffered bytes to the file.
    public func flush() throws {
        var start = 0
        try buffer.withUnsafeBytes { raw in
            while start < raw.count {
                let written = Glibc.write(fd, raw.baseAddress! + start, raw.count - start)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw IOError(description: "cannot write \(path): \(String(cString: strerror(errno)))")
                }
                start += written
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and makes everything written so far durable.
    public func sync() throws {
        try flush()
        guard fsync(fd) == 0 || errno == EINVAL else { throw IOError(description: "cannot sync \(path): \(String(cString: strerror(errno)))") }
    }
}
