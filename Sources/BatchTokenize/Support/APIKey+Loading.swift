import Foundation
import ShieldConex

/// Where the executable takes the API key from: the environment or a file only its owner can
/// read (DESIGN.md invariant 4). Never from argv.
extension APIKey {
    /// No key could be had (``kind``), in words that never hold a part of one.
    struct LoadError: Error, Hashable, Sendable, CustomStringConvertible {
        enum Kind: Sendable, Hashable {
            /// Neither `SCX_API_KEY` nor a key file.
            case missing
            /// A `--partner-id` that cannot be part of a key.
            case invalidPartnerID
            /// The file cannot be read, or holds no text.
            case unreadable
            /// Other users may read the file.
            case openToOthers
        }
        var kind: Kind
        var description: String
    }

    /// Reads the key from `--key-file` if given, else from `SCX_API_KEY`.
    static func load(keyFile: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> APIKey {
        if let keyFile {
            return try fromFile(keyFile)
        }
        guard let value = environment["SCX_API_KEY"]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else {
            throw LoadError(kind: .missing, description: "no API key: set SCX_API_KEY to the base64 key, or pass --key-file FILE")
        }
        return APIKey(value)
    }

    /// The key of a partner who holds an id and a secret key instead of the encoded key:
    /// `base64("<partner id>:<partner key>")`, as HTTP Basic authentication (RFC 7617) builds it.
    /// The partner key is read from a file, refused like a key file if others can read it.
    static func fromPartner(id: String, keyFile: String) throws -> APIKey {
        guard !id.isEmpty, !id.contains(":") else {
            throw LoadError(kind: .invalidPartnerID, description: "--partner-id must be non-empty and must not contain ':'")
        }
        let secret = try readSecret(keyFile, what: "partner key file")
        return APIKey(Data("\(id):\(secret)".utf8).base64EncodedString())
    }

    /// Reads a key file, refusing one that other users could read.
    static func fromFile(_ path: String) throws -> APIKey {
        APIKey(try readSecret(path, what: "key file"))
    }

    /// The trimmed text of a file that only its owner may read.
    static func readSecret(_ path: String, what: String) throws -> String {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw LoadError(kind: .unreadable, description: "cannot read the \(what) \(path): \(String(cString: strerror(errno)))")
        }
        if info.st_mode & (S_IRWXG | S_IRWXO) != 0 {
            throw LoadError(
                kind: .openToOthers,
                description: "the \(what) \(path) is open to other users (mode \(String(info.st_mode & 0o777, radix: 8))); "
                    + "refusing to use it. Fix it with: chmod 600 \(path)"
            )
        }
        guard let data = FileManager.default.contents(atPath: path),
            let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
            !text.isEmpty
        else {
            throw LoadError(kind: .unreadable, description: "the \(what) \(path) is empty or not UTF-8 text")
        }
        return text
    }
}
