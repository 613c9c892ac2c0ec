#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How an input file is compressed, told by its first bytes (not its name).
public enum InputCompression: String, Sendable, Hashable, Codable {
    case none
    case gzip

    /// The compression of the file at `path` (`none` when it cannot be read: opening it says why).
    public static func of(path: String) -> InputCompression {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .none }
        defer { close(fd) }
        return of(fd: fd)
    }

    /// The compression of the open file `fd` (its first bytes, read without moving its offset).
    static func of(fd: Int32) -> InputCompression {
        var magic: (UInt8, UInt8) = (0, 0)
        let count = withUnsafeMutableBytes(of: &magic) { pread(fd, $0.baseAddress!, 2, 0) }
        return count == 2 && magic == (0x1F, 0x8B) ? .gzip : .none
    }
}
