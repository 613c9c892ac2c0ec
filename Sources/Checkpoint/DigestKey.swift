@preconcurrency import Crypto

/// The key of every digest the checkpoint keeps of card data: the input's fingerprint and each
/// record's values. Derived from the API key, so that the checkpoint alone cannot be searched
/// for a CVV or a card number by hashing guesses (no unkeyed hash of card data anywhere).
/// For the embedded simulator (`local`, whose key is new every run) a fixed key: its data is
/// test data, and its jobs must resume.
public struct DigestKey: @unchecked Sendable {
    // SymmetricKey is an immutable value (its storage is never changed after creation).
    let key: SymmetricKey
    /// An HMAC with the key already set up (its padded key hashed): copied for every digest.
    private let keyed: HMAC<SHA256>
    /// The key of record digests (version 2): 16 bytes of an HMAC of the digest key.
    private let records: SipHash128
    /// The key of stream digests (``StreamDigest``).
    let streams: SipHash128

    public init(secret: String) {
        key = SymmetricKey(
            data: HMAC<SHA256>.authenticationCode(for: Array("batch-tokenize checkpoint digests v1".utf8), using: SymmetricKey(data: Array(secret.utf8)))
        )
        keyed = HMAC<SHA256>(key: key)
        records = SipHash128(key: Array(HMAC<SHA256>.authenticationCode(for: Array("record digests v2".utf8), using: key)))
        streams = SipHash128(key: Array(HMAC<SHA256>.authenticationCode(for: Array("stream digests v1".utf8), using: key)))
    }

    public static let local = DigestKey(secret: "batch-tokenize local simulator")

    /// A 16-byte HMAC-SHA256 of `parts`, each length-prefixed so that no two lists collide.
    public func digest(_ parts: [[UInt8]]) -> [UInt8] {
        var framed: [UInt8] = []
        for part in parts { Self.appendPart(part, to: &framed) }
        return digest(framed: framed)
    }

    /// Appends one part to a buffer of parts for ``digest(framed:)``: its length (32-bit little
    /// endian), then its bytes.
    @inlinable
    public static func appendPart<Part: Collection<UInt8>>(_ part: Part, to framed: inout [UInt8]) {
        // The length as four little-endian bytes, in one append (not four).
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: part.count).littleEndian) { framed.append(contentsOf: $0) }
        framed.append(contentsOf: part)
    }

    /// The digest of parts framed by ``appendPart(_:to:)`` (the same as ``digest(_:)`` of the
    /// parts), with one update over one buffer.
    public func digest(framed: [UInt8]) -> [UInt8] {
        var mac = keyed
        framed.withUnsafeBytes { mac.update(data: $0) }
        return Array(mac.finalize().prefix(16))
    }

    /// The digest of a record's values stored with its result: a version byte (2) and the 16
    /// bytes of SipHash-2-4-128 over the framed parts (see ``appendPart(_:to:)``).
    public func recordDigest(framed: [UInt8]) -> [UInt8] {
        recordDigestValue(framed: framed).bytes
    }

    /// The same digest as ``recordDigest(framed:)``, as a value (no array made).
    public func recordDigestValue(framed: [UInt8]) -> RecordDigest {
        let (first, second) = framed.withUnsafeBytes { records.hash($0) }
        return RecordDigest(first: first, second: second)
    }

    /// The same digest as ``recordDigest(framed:)`` of the parts that `body` gives to its
    /// ``RecordDigestParts`` (each framed as ``appendPart(_:to:)`` frames it), without a buffer
    /// of framed parts.
    public func recordDigest(parts body: (inout RecordDigestParts) -> Void) -> RecordDigest {
        var parts = RecordDigestParts(records)
        body(&parts)
        return parts.digest
    }

    /// Whether a stored record digest is the digest of these framed parts: version 2
    /// (``recordDigest(framed:)``), or the 16-byte HMAC of checkpoints written before it.
    public func recordDigest(_ stored: [UInt8], matches framed: [UInt8]) -> Bool {
        stored.count == 16 ? stored == digest(framed: framed) : stored == recordDigest(framed: framed)
    }

    /// A full HMAC-SHA256 over a stream of chunks, in hex.
    public func hexDigest(_ chunks: [[UInt8]]) -> String {
        var mac = HMAC<SHA256>(key: key)
        for chunk in chunks { mac.update(data: chunk) }
        return mac.finalize().map { String(format: "%02x", $0) }.joined()
    }
}

/// The parts of a record digest, given one at a time (``DigestKey/recordDigest(parts:)``).
public struct RecordDigestParts {
    var state: SipHash128.State

    init(_ key: SipHash128) { state = SipHash128.State(key) }

    /// One part: its length (32-bit little endian), then its bytes.
    public mutating func append(_ part: UnsafeRawBufferPointer) {
        state.append(UInt32(truncatingIfNeeded: part.count))
        state.append(part)
    }

    var digest: RecordDigest {
        mutating get {
            let (first, second) = state.finalize()
            return RecordDigest(first: first, second: second)
        }
    }
}
