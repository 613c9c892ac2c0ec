@preconcurrency import Crypto

/// The key of every digest the checkpoint keeps of card data: the input's fingerprint and each
/// record's values. Derived from the API key, so that the checkpoint alone cannot be searched
/// for a CVV or a card number by hashing guesses (no unkeyed hash of card data anywhere).
/// For the embedded simulator (`local`, whose key is new every run) a fixed key: its data is
/// test data, and its jobs must resume.
public struct DigestKey: @unchecked Sendable {
    // SymmetricKey is an immutable value (its storage is never changed after creation).
    let key: SymmetricKey

    public init(secret: String) {
        key = SymmetricKey(
            data: HMAC<SHA256>.authenticationCode(for: Array("batch-tokenize checkpoint digests v1".utf8), using: SymmetricKey(data: Array(secret.utf8)))
        )
    }

    public static let local = DigestKey(secret: "batch-tokenize local simulator")

    /// A 16-byte HMAC-SHA256 of `parts`, each length-prefixed so that no two lists collide.
    public func digest(_ parts: [[UInt8]]) -> [UInt8] {
        var mac = HMAC<SHA256>(key: key)
        for part in parts {
            let length = UInt32(truncatingIfNeeded: part.count)
            mac.update(data: [UInt8(truncatingIfNeeded: length), UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length >> 16), UInt8(truncatingIfNeeded: length >> 24)])
            mac.update(data: part)
        }
        return Array(mac.finalize().prefix(16))
    }

    /// A full HMAC-SHA256 over a stream of chunks, in hex.
    func hexDigest(_ chunks: [[UInt8]]) -> String {
        var mac = HMAC<SHA256>(key: key)
        for chunk in chunks { mac.update(data: chunk) }
        return mac.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
