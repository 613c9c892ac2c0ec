import Checkpoint

/// An output file written as gzip. A ``flush()`` hands every line written so far to the kernel
/// at a point a resume can take up from, and a ``sync()`` ends the gzip member (RFC 1952 allows
/// members one after another; `zcat`, Python's `gzip` and every common reader take them), so the
/// engine's commits (which sync) end members. Lines are deflated by libdeflate where the machine
/// has it (``WholeMemberDeflater``: every flush ends a member, and the engine flushes at least
/// ``pointSpacing`` bytes apart), else by zlib (``GzipDeflater``: a flush is a sync flush inside
/// the member). A checkpoint records a point as the file's length there (``fileOffset(of:)``); a
/// resume cuts the file back to it, closes the member it falls in if it is open
/// (``GzipMemberCloser``) and goes on with a new one, and the file reads as if written in one go.
/// A member per flush of zlib's (a few milliseconds apart in a fast run) made the file 5% larger.
///
/// ``offset`` counts the lines' bytes from where the file was opened (its compressed length
/// there): the points the engine computes are in that measure, and ``fileOffset(of:)`` turns the
/// ones where a flush or sync happened into the file's length.
public final class GzipOutputFile: OutputSink {
    /// Which library deflates.
    public enum Deflater: Sendable {
        case zlib
        case libdeflate
        /// libdeflate where it can be loaded, else zlib.
        public static var preferred: Deflater { Libdeflate.shared == nil ? .zlib : .libdeflate }
    }

    /// Level 1, the fastest, of either library (see the README for what it costs in size).
    public static let defaultLevel: Int32 = 1

    private let file: OutputFile
    private let deflater: any GzipEncoder
    public private(set) var offset: Int64
    /// Bytes deflated since the member began, and since the last flush.
    private var memberOpen = false
    private var unflushed = false
    /// The points where the file was flushed or a member ended (in ``offset``'s measure) and the
    /// file's length there, from the last committed one on.
    private var flushPoints: [(point: Int64, length: Int64)]

    public var pointSpacing: Int { deflater.pointSpacing }

    /// Writes into `file` from where it stands: its start, a member's end, or (`memberStart`
    /// given: a resume at a flush point) inside the member that began at `memberStart`, which is
    /// closed first.
    public init(file: OutputFile, deflater kind: Deflater = .preferred, level: Int32 = GzipOutputFile.defaultLevel, memberStart: Int64? = nil) throws {
        self.file = file
        do {
            if kind == .libdeflate, let library = Libdeflate.shared {
                deflater = try WholeMemberDeflater(library: library, level: level)
            } else {
                deflater = try GzipDeflater(level: level)
            }
            if let memberStart, memberStart < file.offset {
                let closing = try GzipMemberCloser.closing(path: file.path, from: memberStart, to: file.offset)
                if !closing.isEmpty {
                    try file.write(closing)
                    try file.sync()
                }
            }
        } catch let error as GzipEncoderFailure {
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
                try deflater.add(raw) { try file.write($0) }
            }
        }
        offset += Int64(bytes.count)
        memberOpen = true
        unflushed = true
    }

    private func compressing(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as GzipEncoderFailure {
            throw OutputFile.IOError(.system, description: "cannot compress \(file.path): \(error)")
        }
    }

    /// Hands everything written so far to the kernel, at a point a resume can take up from.
    public func flush() throws {
        if unflushed {
            try compressing { try deflater.point { try file.write($0) } }
            unflushed = false
            if deflater.pointEndsMember { memberOpen = false }
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
