import Crypto
import Foundation

/// Identifies an input file without reading it twice: its size, its modification time and a
/// SHA-256 of its first and last MiB (the whole file when it is smaller than 2 MiB).
public struct InputFingerprint: Sendable, Hashable, Codable {
    public var size: Int64
    public var modified: Double
    public var sha256: String

    static let edge = 1 << 20

    public init(size: Int64, modified: Double, sha256: String) {
        self.size = size
        self.modified = modified
        self.sha256 = sha256
    }

    public static func of(path: String) throws -> InputFingerprint {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CheckpointError("cannot read \(path) to fingerprint it")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        hasher.update(data: Array(String(size).utf8))
        if size <= Int64(2 * edge) {
            hasher.update(data: try handle.readToEnd() ?? Data())
        } else {
            hasher.update(data: try handle.read(upToCount: edge) ?? Data())
            try handle.seek(toOffset: UInt64(size) - UInt64(edge))
            hasher.update(data: try handle.read(upToCount: edge) ?? Data())
        }
        let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        return InputFingerprint(size: size, modified: modified, sha256: digest)
    }
}
