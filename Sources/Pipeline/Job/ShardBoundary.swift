import Checkpoint
import Foundation

/// The keyed digest that vouches for a shard's boundary: the shard's numbers (index, first
/// record, offset, line, count) and the input's bytes on both sides of its offset, keyed from the
/// API key (``DigestKey``) so that a plan cannot be edited by hand into another that passes. A run
/// checks its shard's start and end against the file before it sends anything: an input edited
/// in place between `plan` and the run (bytes inserted before a boundary and removed after it,
/// the size unchanged) no longer has the same bytes there.
final class ShardBoundary {
    /// Bytes read on each side of a boundary.
    static let reach: Int64 = 1_024

    let path: String
    let handle: FileHandle
    let size: Int64
    let key: DigestKey
    /// A gzip input: its bytes are read inflated (from the shard's member), `size` is what it inflates to.
    let inflated: Bool

    init(path: String, key: DigestKey, inflatedSize: Int64? = nil) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ShardPlan.PlanError(.unreadable, "cannot read \(path)")
        }
        self.path = path
        self.handle = handle
        self.size = try inflatedSize ?? Int64(handle.seekToEnd())
        self.key = key
        inflated = inflatedSize != nil
    }

    deinit {
        try? handle.close()
    }

    func digest(of shard: ShardPlan.Shard) throws -> String {
        let from = min(max(0, shard.offset - Self.reach), size)
        let to = min(max(from, shard.offset + Self.reach), size)
        let bytes: [UInt8]
        if inflated {
            let reader = try ChunkedFileReader(path: path, offset: from, chunkSize: Int(2 * Self.reach), member: shard.member)
            while reader.count < Int(to - from), try reader.refill(keepingFrom: 0) {}
            bytes = Array(reader.bytes[0..<min(reader.count, Int(to - from))])
        } else {
            try handle.seek(toOffset: UInt64(from))
            bytes = [UInt8](try handle.read(upToCount: Int(to - from)) ?? Data())
        }
        let numbers = "shard boundary v1 \(shard.index) \(shard.firstSeq) \(shard.offset) \(shard.line) \(shard.records)\n"
        return key.hexDigest([Array(numbers.utf8), bytes])
    }
}
