/// A keyed digest of a stream's bytes, given as they pass (``append(_:)``): what a checkpoint stores
/// of a piped input's prefix at each point, so that a resume, which can only read the stream again
/// from its start, can tell the same stream from another before anything is sent. SipHash-2-4-128
/// under a key of its own, drawn from the checkpoint's digest key (as record digests are): without
/// the key it says nothing about the bytes.
public struct StreamDigest: Sendable {
    private var state: SipHash128.State
    /// Bytes given so far.
    public private(set) var length: Int64 = 0

    init(_ key: SipHash128) {
        state = SipHash128.State(key)
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        state.append(bytes)
        length += Int64(bytes.count)
    }

    /// The digest of the bytes given so far (the stream can go on after it), with their length.
    public var value: String {
        var copy = state
        let (first, second) = copy.finalize()
        return "v1:\(length):" + String(first, radix: 16) + "." + String(second, radix: 16)
    }
}

extension DigestKey {
    /// A digest of a stream from its first byte.
    public func streamDigest() -> StreamDigest {
        StreamDigest(streams)
    }
}
