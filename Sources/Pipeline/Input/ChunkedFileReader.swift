import Checkpoint

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
    /// Standard input, read as a stream.
    private(set) var isStream = false
    /// The inflater of a gzip file; `nil` for a plain one.
    private let inflater: GzipInflater?
    /// For a gzip file, the compressed bytes consumed so far.
    var compressedOffset: Int64? { inflater?.compressedOffset }

    /// Reads the file at `path` from `offset`. A gzip file is inflated from its start, or from
    /// `member` (a member that starts at or before `offset`: see ``GzipMember``), up to it.
    init(path: String, offset: Int64 = 0, chunkSize: Int = 256 * 1024, member: GzipMember? = nil) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        self.fd = fd
        guard fd >= 0 else {
            throw IOError(kind: .open, errno: errno, description: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        // Inflated bytes before where inflating starts (a member's start).
        var skipped: Int64 = 0
        do {
            let isGzip = InputCompression.of(fd: fd) == .gzip
            if !isGzip, path.hasSuffix(".gz") {
                throw IOError(kind: .notGzip, errno: 0, description: "\(path) is named .gz but is not gzip (it does not start with gzip's magic bytes): rename it, or give the compressed file")
            }
            let start = member.flatMap { isGzip && $0.inflatedOffset <= offset ? $0 : nil }
            if let start, lseek(fd, off_t(start.compressedOffset), SEEK_SET) < 0 {
                throw IOError(kind: .seek, errno: errno, description: "cannot seek \(path) to \(start.compressedOffset): \(String(cString: strerror(errno)))")
            }
            inflater = isGzip ? try GzipInflater(fd: fd, compressedStart: start?.compressedOffset ?? 0) : nil
            skipped = start?.inflatedOffset ?? 0
        } catch {
            close(fd)
            throw error
        }
        self.chunkSize = chunkSize
        self.base = offset
        self.bytes = [UInt8](repeating: 0, count: chunkSize)
        guard offset > 0 else { return }
        if let inflater {
            // No seeking in a deflate stream: inflate up to the position (from the start, or
            // the member's), keeping nothing.
            var remaining = offset - skipped
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

    /// Reads a stream (standard input, `fd`) from where it stands: no seeking, so a position is
    /// reached by reading up to it (``discard(upTo:)``), and a digest of every byte passed is kept
    /// (``prefixDigest(through:)``) so that the stream read again can be told from another. A
    /// stream that starts with gzip's magic bytes is inflated; positions and the digest are in
    /// what it inflates to.
    init(stream fd: Int32, name: String, digest: StreamDigest, chunkSize: Int = 256 * 1024) throws {
        self.fd = fd
        self.chunkSize = chunkSize
        base = 0
        bytes = [UInt8](repeating: 0, count: chunkSize)
        // The first bytes tell the compression: read until there are two, or the stream ends.
        var first: [UInt8] = []
        var peek = [UInt8](repeating: 0, count: 2)
        while first.count < 2 {
            let result = peek.withUnsafeMutableBytes { read(fd, $0.baseAddress!, 2 - first.count) }
            if result < 0, errno == EINTR { continue }
            guard result >= 0 else {
                throw IOError(kind: .read, errno: errno, description: "cannot read \(name) (standard input): \(String(cString: strerror(errno)))")
            }
            if result == 0 { break }
            first += peek[0..<result]
        }
        if first == [0x1F, 0x8B] {
            inflater = try GzipInflater(fd: fd, prefix: first)
        } else {
            inflater = nil
            bytes.replaceSubrange(0..<first.count, with: first)
            count = first.count
        }
        streamDigest = digest
        isStream = true
    }

    /// A stream that ended inside a record: its producer stopped early, or wrote no final line
    /// break. Never taken as a shorter last record.
    func endedInsideRecord() -> CompressedInputError {
        CompressedInputError(
            .truncated, compressedOffset: compressedOffset ?? base + Int64(count),
            "standard input ended inside a record (no line break after it): did the command feeding it stop early? Check it (with `set -o pipefail`, its exit status fails the pipeline), then run the same pipeline again to resume"
        )
    }

    deinit { close(fd) }

    // MARK: - A stream's digest

    /// A stream's digest, up to `digested`; the bytes after it that have left the window wait in
    /// `passed` (from `passedStart`) until a point asks for them. `nil` for a file (which is read
    /// again where it is) and once ``stopDigesting()`` was called.
    private var streamDigest: StreamDigest?
    private var passed: [UInt8] = []
    private var passedStart = 0
    /// The last digest given, and where.
    private var lastDigest: (offset: Int64, value: String)?

    /// The digest of the stream's bytes before `offset`, which must not be before an offset asked
    /// for earlier nor past what was read (`nil` for a file).
    func prefixDigest(through offset: Int64) -> String? {
        guard var digest = streamDigest else { return nil }
        if let lastDigest, lastDigest.offset == offset { return lastDigest.value }
        guard offset >= digest.length, offset <= base + Int64(count) else { return nil }
        // From the bytes that left the window, then from the window.
        let fromPassed = Int(min(offset - digest.length, Int64(passed.count - passedStart)))
        if fromPassed > 0 {
            passed.withUnsafeBytes { digest.append(UnsafeRawBufferPointer(rebasing: $0[passedStart..<(passedStart + fromPassed)])) }
            passedStart += fromPassed
            if passedStart == passed.count || passedStart > 1 << 20 {
                passed.removeSubrange(0..<passedStart)
                passedStart = 0
            }
        }
        if offset > digest.length {
            // (The bytes before the window were all kept: never short of them, but never a trap.)
            guard digest.length >= base else { return nil }
            let from = Int(digest.length - base)
            let to = Int(offset - base)
            bytes.withUnsafeBytes { digest.append(UnsafeRawBufferPointer(rebasing: $0[from..<to])) }
        }
        streamDigest = digest
        lastDigest = (offset, digest.value)
        return lastDigest!.value
    }

    /// No point will ask for a digest again (the commit point is frozen): the bytes kept for it go.
    func stopDigesting() {
        streamDigest = nil
        passed = []
        passedStart = 0
    }

    /// Reads and drops the stream's bytes up to `offset`; throws when it ends before.
    func discard(upTo offset: Int64) throws {
        while base < offset {
            let available = base + Int64(count)
            if available >= offset {
                try drop(Int(offset - base))
                return
            }
            if !(try refill(keepingFrom: count)) {
                throw IOError(kind: .seek, errno: 0, description: "the stream ends after \(base + Int64(count)) bytes, before the \(offset) to resume from")
            }
        }
    }

    /// Drops the first `n` bytes of the window (kept for the digest, for a stream).
    private func drop(_ n: Int) throws {
        guard n > 0 else { return }
        keepForDigest(n)
        bytes.withUnsafeMutableBufferPointer { buffer in
            let start = buffer.baseAddress!
            start.update(from: start + n, count: count - n)
        }
        base += Int64(n)
        count -= n
    }

    /// The first `n` bytes of the window are about to leave it: a stream's digest still needs
    /// those after what it has taken.
    private func keepForDigest(_ n: Int) {
        guard let digest = streamDigest else { return }
        let skip = Int(max(0, min(Int64(n), digest.length - base)))
        if skip < n { passed.append(contentsOf: bytes[skip..<n]) }
    }

    /// Drops the bytes before `keepFrom` and reads more after what is kept. Returns whether
    /// anything new was read (false at the end of the file).
    func refill(keepingFrom keepFrom: Int) throws -> Bool {
        let kept = count - keepFrom
        if keepFrom > 0 {
            keepForDigest(keepFrom)
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
