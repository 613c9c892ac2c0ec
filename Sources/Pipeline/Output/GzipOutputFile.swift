import Checkpoint

/// An output file written as gzip. Lines are deflated as they come; a ``flush()`` hands every
/// byte deflated so far to the kernel at a byte boundary (zlib's sync flush), and a ``sync()``
/// ends the gzip member (RFC 1952 allows members one after another; `zcat`, Python's `gzip` and
/// every common reader take them), so the engine's commits (which sync) end members and the
/// points written between them (which flush) fall inside one. A checkpoint records a point as the
/// file's length there (``fileOffset(of:)``); a resume cuts the file back to it, closes the member
/// it falls in (``GzipMemberCloser``) and goes on with a new one, and the file reads as if written
/// in one go. A member per commit keeps members large: ending one at every flush (a few
/// milliseconds apart in a fast run) made the file 5% larger.
///
/// ``offset`` counts the lines' bytes from where the file was opened (its compressed length
/// there): the points the engine computes are in that measure, and ``fileOffset(of:)`` turns the
/// ones where a flush or sync happened into the file's length.
public final class GzipOutputFile: OutputSink {
    /// zlib's level 1: the fastest (see the README for what it costs in size).
    public static let defaultLevel: Int32 = 1

    private let file: OutputFile
    private let deflater: GzipDeflater
    public private(set) var offset: Int64
    /// Bytes deflated since the member began, and since the last flush.
    private var memberOpen = false
    private var unflushed = false
    /// The points where the file was flushed or a member ended (in ``offset``'s measure) and the
    /// file's length there, from the last committed one on.
    private var flushPoints: [(point: Int64, length: Int64)]

    public var path: String { file.path }
    public var identity: FileIdentity { file.identity }

    /// Writes into `file` from where it stands: its start, a member's end, or (`memberStart`
    /// given: a resume at a flush point) inside the member that began at `memberStart`, which is
    /// closed first.
    public init(file: OutputFile, level: Int32 = GzipOutputFile.defaultLevel, memberStart: Int64? = nil) throws {
        self.file = file
        do {
            deflater = try GzipDeflater(level: level)
            if let memberStart, memberStart < file.offset {
                let closing = try GzipMemberCloser.closing(path: file.path, from: memberStart, to: file.offset)
                if !closing.isEmpty {
                    try file.write(closing)
                    try file.sync()
                }
            }
        } catch let error as GzipDeflater.Failure {
            throw OutputFile.IOError(.system, description: "cannot compress \(file.path): \(error)")
        } catch let error as GzipMemberCloser.Failure {
            throw OutputFile.IOError(.notCommitted, description: "cannot take up \(file.path) where it was committed: \(error); to start the job over, run it again with --restart")
        }
        offset = file.offset
        flushPoints = [(file.offset, file.offset)]
    }

    public func write(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        try compressing {
            try bytes.withUnsafeBytes { raw in
                try deflater.deflate(raw) { try file.write($0) }
            }
        }
        offset += Int64(bytes.count)
        memberOpen = true
        unflushed = true
    }

    private func compressing(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as GzipDeflater.Failure {
            throw OutputFile.IOError(.system, description: "cannot compress \(file.path): \(error)")
        }
    }

    /// Hands everything written so far to the kernel, at a point a resume can take up from.
    public func flush() throws {
        if unflushed {
            try compressing { try deflater.syncFlush { try file.write($0) } }
            unflushed = false
            flushPoints.append((offset, file.offset))
        }
        try file.flush()
    }

    /// Ends the open member and makes the file durable. A file with nothing in it gets an empty
    /// member: a gzip file holds at least one (an empty rejects file reads as empty).
    public func sync() throws {
        if memberOpen || file.offset == 0 {
            try compressing { try deflater.finishMember { try file.write($0) } }
            memberOpen = false
            unflushed = false
            flushPoints.append((offset, file.offset))
        }
        try file.sync()
    }

    public func fileOffset(of point: Int64) throws -> Int64 {
        // The newest first: a point is almost always the last flush's.
        guard let end = flushPoints.last(where: { $0.point == point }) else {
            throw OutputFile.IOError(.system, description: "internal: \(file.path) was not flushed at \(point) (a point must follow a flush)")
        }
        return end.length
    }

    public func committed(through point: Int64) {
        flushPoints.removeAll { $0.point < point }
    }
}
