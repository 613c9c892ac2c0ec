#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Checkpoint

/// An output file written through a buffer: bytes are collected and written in large blocks;
/// `flush()` hands them to the kernel, `sync()` makes them durable. `offset` counts every byte
/// written so far, buffered or not, so a checkpoint can record where the file ends.
///
/// It never damages what it finds: it is opened without following a symlink; an existing
/// regular file must be the user's and is set to `mode` before the first byte; a resumed file
/// must exist, be the same file (device and inode) and be at least as long as its committed
/// part, which is never padded; it is locked, so two runs cannot write one file. Devices and
/// FIFOs (`/dev/null`) are written as they are.
public final class OutputFile {
    public struct IOError: Error, CustomStringConvertible {
        public enum Kind: Sendable, Hashable {
            /// The file exists, and was to be created.
            case exists
            /// The checkpoint says part of it is committed, and it is missing or not what was committed.
            case notCommitted
            /// A symbolic link, or not a regular file where one is needed.
            case notAFile
            /// `open`, `fstat`, `write` or `fsync` failed.
            case system
        }

        public var kind: Kind
        public var description: String
        /// The `errno` of a refused `open`, where that is what failed.
        public var code: Int32? = nil

        public init(_ kind: Kind, description: String, code: Int32? = nil) {
            self.kind = kind
            self.description = description
            self.code = code
        }
    }

    public let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private let bufferLimit: Int
    public private(set) var offset: Int64
    /// The file's device and inode, to recognise it on resume.
    public let identity: FileIdentity

    /// Creates `path` (or empties the user's regular file there) for writing with `mode`.
    public convenience init(path: String, mode: mode_t = 0o600, bufferLimit: Int = 256 * 1024) throws {
        try self.init(path: path, mode: mode, resumeAt: nil, expected: nil, bufferLimit: bufferLimit)
    }

    /// Opens `path` for writing with `mode` (0600 by default). Without `resumeAt` the file is
    /// created or emptied; with it, the existing file is cut back to that many bytes (its
    /// committed part) and written on from there, and it must be `expected` when that is known.
    /// With `exclusive`, the file must not exist (anything there, a FIFO or a symlink included,
    /// is refused with `EEXIST`): a temporary file of ours, never one that another user put there.
    public init(
        path: String, mode: mode_t = 0o600, resumeAt length: Int64?, expected: FileIdentity?, bufferLimit: Int = 256 * 1024, exclusive: Bool = false
    ) throws {
        self.path = path
        self.bufferLimit = bufferLimit
        let resuming = length != nil
        let restart = "; to start the job over, run it again with --restart"
        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | (exclusive ? O_CREAT | O_EXCL : resuming ? 0 : O_CREAT), mode)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            switch errno {
            case EEXIST where exclusive:
                throw IOError(.exists, description: "\(path) exists already", code: EEXIST)
            case ENOENT where resuming:
                throw IOError(.notCommitted, description: "\(path) is missing, but the checkpoint says its first \(length!) bytes are committed: restore it\(restart)")
            case ELOOP:
                throw IOError(.notAFile, description: "\(path) is a symbolic link; refusing to write through it (give the real path)")
            default:
                throw IOError(.system, description: "cannot open \(path) for writing: \(reason)")
            }
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw IOError(.system, description: "cannot inspect \(path): \(String(cString: strerror(errno)))")
        }
        identity = FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
        let kind = info.st_mode & S_IFMT
        if kind == S_IFREG {
            if let problem = Self.prepareRegularFile(fd, info: info, identity: identity, path: path, mode: mode, resumeAt: length, expected: expected) {
                close(fd)
                throw IOError(.notCommitted, description: problem)
            }
            if !resuming { Self.syncDirectory(of: path) }
        } else if exclusive || (kind != S_IFCHR && kind != S_IFIFO) {
            close(fd)
            throw IOError(.notAFile, description: "\(path) is not a regular file")
        }
        offset = length ?? 0
        buffer.reserveCapacity(bufferLimit)
    }

    deinit { close(fd) }

    /// Why the file at `path` is not the finished file a checkpoint committed (`length` bytes of
    /// the file `expected`), or `nil` when it is: missing, not a regular file, another file, or
    /// another length. A device or FIFO (`/dev/null`) is taken as it is, unless `streams` is false
    /// (a file to be read back, as `merge` does).
    public static func problem(atPath path: String, committed length: Int64, expected: FileIdentity?, streams: Bool = true) -> String? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return "\(path) is gone" }
        switch info.st_mode & S_IFMT {
        case S_IFCHR where streams, S_IFIFO where streams: return nil
        case S_IFREG: break
        default: return "\(path) is not a regular file"
        }
        if let expected, expected != FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)) {
            return "\(path) is not the file the job wrote (replaced or moved since)"
        }
        if Int64(info.st_size) != length { return "\(path) has \(info.st_size) bytes, not the \(length) the job committed" }
        return nil
    }

    /// Checks and prepares an open regular file; returns why it must not be written, if so.
    private static func prepareRegularFile(
        _ fd: Int32, info: stat, identity: FileIdentity, path: String, mode: mode_t, resumeAt length: Int64?, expected: FileIdentity?
    ) -> String? {
        let restart = "; to start the job over, run it again with --restart"
        if info.st_uid != geteuid() { return "\(path) belongs to another user; refusing to write into it" }
        if let length {
            if let expected, expected != identity {
                return "\(path) is not the file this job wrote (it was deleted or replaced since)\(restart)"
            }
            if Int64(info.st_size) < length {
                return "\(path) has \(info.st_size) bytes, fewer than the \(length) the checkpoint committed (it was cut short)\(restart)"
            }
        }
        // Before the first byte: an existing file keeps no looser mode than ours.
        if info.st_mode & 0o777 != mode, fchmod(fd, mode) != 0 {
            return "cannot set \(path) to mode \(String(mode, radix: 8)): \(String(cString: strerror(errno)))"
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 { return "another run is writing \(path); wait for it to end, or stop it" }
        guard ftruncate(fd, off_t(length ?? 0)) == 0, lseek(fd, off_t(length ?? 0), SEEK_SET) >= 0 else {
            return "cannot prepare \(path): \(String(cString: strerror(errno)))"
        }
        return nil
    }

    /// Makes a new directory entry durable: a file created and then lost with its directory's
    /// unsynced metadata would be a committed output that vanished.
    static func syncDirectory(of path: String) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { return }
        _ = fsync(dfd)
        close(dfd)
    }

    public func write(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        offset += Int64(bytes.count)
        if buffer.count >= bufferLimit { try flush() }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
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
                    throw IOError(.system, description: "cannot write \(path): \(String(cString: strerror(errno)))")
                }
                start += written
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and makes everything written so far durable.
    public func sync() throws {
        try flush()
        guard fsync(fd) == 0 || errno == EINVAL else { throw IOError(.system, description: "cannot sync \(path): \(String(cString: strerror(errno)))") }
    }
}
