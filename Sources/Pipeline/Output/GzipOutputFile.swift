import Checkpoint

/// An output file written as gzip: lines are deflated as they come, and every ``flush()`` ends a
/// gzip member, so that the file up to any flush is a whole gzip file (RFC 1952 allows members
/// one after another; `zcat`, Python's `gzip` and every common reader take them). A checkpoint
/// records such a point as the file's length there (``fileOffset(of:)``), a resume cuts the file
/// back to it and goes on with a new member, and the file reads as if written in one go.
///
/// ``offset`` counts the lines' bytes from where the file was opened (its compressed length
/// there): the points the engine computes are in that measure, and ``fileOffset(of:)`` turns the
/// ones that ended a member into the file's length.
public final class GzipOutputFile: OutputSink {
    /// zlib's default level (`gzip -6`): a member per flush stays within a few per cent of one
    /// member's size.
    public static let defaultLevel: Int32 = 6

    private let file: OutputFile
    private let deflater: GzipDeflater
    public private(set) var offset: Int64
    /// Bytes written since the last member ended.
    private var memberOpen = false
    /// The points where a member ended (in ``offset``'s measure) and the file's length there,
    /// from the last committed one on.
    private var memberEnds: [(point: Int64, length: Int64)]

    public var path: String { file.path }
    public var identity: FileIdentity { file.identity }

    /// Writes into `file` from where it stands (its start, or a member's end on resume).
    public init(file: OutputFile, level: Int32 = GzipOutputFile.defaultLevel) throws {
        self.file = file
        do {
            deflater = try GzipDeflater(level: level)
        } catch {
            throw OutputFile.IOError(.system, description: "cannot compress \(file.path): \(error)")
        }
        offset = file.offset
        memberEnds = [(file.offset, file.offset)]
    }

    public func write(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        try bytes.withUnsafeBytes { raw in
            try deflate(raw)
        }
        offset += Int64(bytes.count)
        memberOpen = true
    }

    private func deflate(_ raw: UnsafeRawBufferPointer) throws {
        do {
            try deflater.deflate(raw) { try file.write($0) }
        } catch let error as GzipDeflater.Failure {
            throw OutputFile.IOError(.system, description: "cannot compress \(file.path): \(error)")
        }
    }

    /// Ends the open member and hands the file's bytes to the kernel. A file with nothing in it
    /// gets an empty member: a gzip file holds at least one (an empty rejects file reads as empty).
    public func flush() throws {
        if memberOpen || file.offset == 0 {
            do {
                try deflater.finishMember { try file.write($0) }
            } catch let error as GzipDeflater.Failure {
                throw OutputFile.IOError(.system, description: "cannot compress \(file.path): \(error)")
            }
            memberOpen = false
            memberEnds.append((offset, file.offset))
        }
        try file.flush()
    }

    public func sync() throws {
        try flush()
        try file.sync()
    }

    public func fileOffset(of point: Int64) throws -> Int64 {
        // The newest first: a point is almost always the last flush's.
        guard let end = memberEnds.last(where: { $0.point == point }) else {
            throw OutputFile.IOError(.system, description: "internal: \(file.path) has no gzip member ending at \(point) (a point must follow a flush)")
        }
        return end.length
    }

    public func committed(through point: Int64) {
        memberEnds.removeAll { $0.point < point }
    }
}
