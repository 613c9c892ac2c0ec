import Checkpoint

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How an output (or rejects) file is compressed: chosen by its name (`.gz`: gzip).
public enum OutputCompression: String, Sendable, Hashable, Codable {
    case none
    case gzip

    public static func of(path: String) -> OutputCompression {
        path.hasSuffix(".gz") ? .gzip : .none
    }

    /// Opens the file at `path` as ``OutputFile`` does, compressed as its name says. A resumed
    /// file's committed part must be of that compression: a run with `--output x` does not go on
    /// writing the gzip file a run with `--output x.gz` began (renamed since), nor the other way.
    /// `memberStart`: a resume at a point between commits, where the gzip member that began at the
    /// commit point is open (closed before the file is written on).
    public static func open(
        path: String, resumeAt length: Int64?, expected: FileIdentity?, memberStart: Int64? = nil
    ) throws -> (sink: any OutputSink, identity: FileIdentity) {
        let compression = of(path: path)
        if let length, length > 0, let found = committedCompression(atPath: path), found != compression {
            let restart = "to start the job over, run it again with --restart"
            throw OutputFile.IOError(
                .notCommitted,
                description: found == .gzip
                    ? "\(path) holds gzip, written by a run whose output was named .gz: give that name again (the output's compression follows its name), or \(restart)"
                    : "\(path) is named .gz but holds no gzip (a run with an output not named .gz wrote it): give that name again (the output's compression follows its name), or \(restart)"
            )
        }
        let file = try OutputFile(path: path, resumeAt: length, expected: expected)
        switch compression {
        case .none: return (file, file.identity)
        case .gzip: return (try GzipOutputFile(file: file, memberStart: memberStart), file.identity)
        }
    }

    /// The compression of the regular file at `path`, by its first bytes (`nil`: not a regular
    /// file, or empty).
    static func committedCompression(atPath path: String) -> OutputCompression? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size > 0 else { return nil }
        return InputCompression.of(fd: fd) == .gzip ? .gzip : OutputCompression.none
    }
}
