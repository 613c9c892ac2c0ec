/// A record's digest as a value, not an array: the version-2 form (``DigestKey/recordDigest(framed:)``:
/// a version byte 2 and SipHash-2-4-128's two words) held inline, one allocation per record
/// fewer; any other bytes (the 16-byte HMACs of older checkpoints) kept as they are.
public struct RecordDigest: Sendable, Hashable {
    enum Storage: Sendable, Hashable {
        case sipHash(UInt64, UInt64)
        case bytes([UInt8])
    }

    let storage: Storage

    init(first: UInt64, second: UInt64) { storage = .sipHash(first, second) }

    public init(bytes: [UInt8]) {
        guard bytes.count == 17, bytes[0] == 2 else {
            storage = .bytes(bytes)
            return
        }
        var first: UInt64 = 0
        var second: UInt64 = 0
        for index in 0..<8 {
            first |= UInt64(bytes[1 + index]) << (8 * UInt64(index))
            second |= UInt64(bytes[9 + index]) << (8 * UInt64(index))
        }
        storage = .sipHash(first, second)
    }

    /// The digest as stored.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        append(to: &out)
        return out
    }

    /// Appends the stored bytes (what ``bytes`` is) without making an array of them.
    public func append(to out: inout [UInt8]) {
        switch storage {
        case .sipHash(let first, let second):
            out.append(2)
            for index in 0..<8 { out.append(UInt8(truncatingIfNeeded: first >> (8 * UInt64(index)))) }
            for index in 0..<8 { out.append(UInt8(truncatingIfNeeded: second >> (8 * UInt64(index)))) }
        case .bytes(let bytes):
            out.append(contentsOf: bytes)
        }
    }

    /// Two well-mixed words of the digest (a filter's hashes): SipHash's own output, or a hash of
    /// an older digest's bytes.
    public var words: (UInt64, UInt64) {
        switch storage {
        case .sipHash(let first, let second): (first, second)
        case .bytes(let bytes):
            (UInt64(bitPattern: Int64(bytes.hashValue)), UInt64(bitPattern: Int64(bytes.reversed().hashValue)))
        }
    }

    /// How many bytes ``append(to:)`` writes.
    public var count: Int {
        switch storage {
        case .sipHash: 17
        case .bytes(let bytes): bytes.count
        }
    }
}
