/// Closes the gzip member that a file cut back to a sync-flush point (``GzipDeflater/syncFlush(into:)``)
/// ends inside: the member's data is inflated from its start, and its end written after it (an
/// empty final block, the CRC-32 of what the member holds and its length), so that the file is
/// whole gzip again and the next member can follow. A resume takes up a gzip output this way at a
/// point between commits: the lines up to it stay, their tokens never needed.
enum GzipMemberCloser {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The bytes that close the open member of the file at `path` whose members (one or more)
    /// start at `start` and which is cut at `end`; empty when the last member there is whole.
    static func closing(path: String, from start: Int64, to end: Int64) throws -> [UInt8] {
        guard end > start else { return [] }
        let walked: GzipMember.Walk
        do {
            walked = try GzipMember.walk(path: path, from: start, to: end)
        } catch {
            throw Failure(description: "\(path) is not whole gzip before its committed end (\(error))")
        }
        // Everything before the cut inflated (a sync flush leaves nothing pending): the member's
        // CRC-32 and length so far are zlib's (`adler` holds the CRC-32 of a gzip stream).
        guard let open = walked.open else { return [] }
        var out: [UInt8] = [0x03, 0x00]  // a final, empty block with the fixed codes
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: open.crc >> UInt32(shift))) }
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: open.size >> UInt32(shift))) }
        return out
    }
}
