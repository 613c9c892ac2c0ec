import Crypto
import Foundation

/// Identifies an input file without reading it twice: its size, its modification time and a
/// keyed digest (HMAC-SHA256, ``DigestKey``) of its first and last MiB (the whole file when it
/// is smaller than 2 MiB). Keyed: a small input is a few records, and a plain hash of it could
/// be searched for its card numbers.
public struct InputFingerprint: Sendable, Hashable, Codable {
    public var size: Int64
    public var modified: Double
    public var digest: String

    static let edge = 1 << 20

    public init(size: Int64, modified: Double, digest: String) {
        self.size = size
        self.modified = modified
        self.digest = digest
    }

    enum CodingKeys: String, CodingKey { case size, modified, digest, sha256 }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        size = try container.decode(Int64.self, forKey: .size)
        modified = try container.decode(Double.self, forKey: .modified)
        // Checkpoints before keyed digests kept a plain SHA-256 (never equal to a keyed one).
        digest = try container.decodeIfPresent(String.self, forKey: .digest) ?? "sha256:" + container.decode(String.self, forKey: .sha256)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(size, forKey: .size)
        try container.encode(modified, forKey: .modified)
        try container.encode(digest, forKey: .digest)
    }

    public static func of(path: String, key: DigestKey) throws -> InputFingerprint {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CheckpointError(.unreadableInput, "cannot read \(path) to fingerprint it")
        }
        defer { try? handle.close() }
        var chunks = [Array(String(size).utf8)]
        if size <= Int64(2 * edge) {
            chunks.append([UInt8](try handle.readToEnd() ?? Data()))
        } else {
            chunks.append([UInt8](try handle.read(upToCount: edge) ?? Data()))
            try handle.seek(toOffset: UInt64(size) - UInt64(edge))
            chunks.append([UInt8](try handle.read(upToCount: edge) ?? Data()))
        }
        return InputFingerprint(size: size, modified: modified, digest: key.hexDigest(chunks))
    }
}
