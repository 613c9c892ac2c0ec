import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a whole file so that readers see the old contents or the new, never a part: the bytes
/// go to a temporary file beside it, created with an unpredictable name and `O_EXCL` (so that
/// nothing another user put in a shared folder — a FIFO, a symlink, a file of theirs — is ever
/// written to or renamed into place), with `mode` (0600 by default, as every file we write), are
/// synced, and replace the file by `rename`.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String, mode: mode_t = 0o600) throws {
        try write(to: path, mode: mode) { try $0.write(Array(data)) }
    }

    /// The same for contents that `body` writes piece by piece (a file too large to hold).
    public static func write(to path: String, mode: mode_t = 0o600, bufferLimit: Int = 256 * 1024, _ body: (OutputFile) throws -> Void) throws {
        let (temporary, file) = try createTemporary(beside: path, mode: mode, bufferLimit: bufferLimit)
        do {
            try body(file)
            try file.sync()
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw OutputFile.IOError(.system, description: "cannot rename \(temporary) to \(path): \(reason)")
        }
    }

    /// A file written and synced under a temporary name, not yet in place: several files that
    /// must appear together (or not at all) are each prepared, then committed.
    public final class Pending {
        public let path: String
        let temporary: String
        private var settled = false

        init(path: String, temporary: String) {
            self.path = path
            self.temporary = temporary
        }

        /// Renames the file into place.
        public func commit() throws {
            settled = true
            guard rename(temporary, path) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(temporary)
                throw OutputFile.IOError(.system, description: "cannot rename \(temporary) to \(path): \(reason)")
            }
        }

        deinit {
            if !settled { unlink(temporary) }
        }
    }

    /// Writes the contents `body` gives to a temporary file beside `path` and syncs it; the file
    /// replaces `path` when the result is committed, and is removed if it never is.
    public static func prepare(to path: String, mode: mode_t = 0o600, bufferLimit: Int = 256 * 1024, _ body: (OutputFile) throws -> Void) throws -> Pending {
        let (temporary, file) = try createTemporary(beside: path, mode: mode, bufferLimit: bufferLimit)
        let pending = Pending(path: path, temporary: temporary)
        try body(file)
        try file.sync()
        return pending
    }

    /// A new regular file of ours beside `path`: `<path>.tmp.<16 random hex digits>`, created
    /// exclusively (a name taken by anything is not reused: another is drawn).
    static func createTemporary(beside path: String, mode: mode_t, bufferLimit: Int) throws -> (String, OutputFile) {
        var generator = SystemRandomNumberGenerator()
        var lastError: OutputFile.IOError?
        for _ in 0..<16 {
            let suffix = String(generator.next() as UInt64, radix: 16)
            let temporary = path + ".tmp." + String(repeating: "0", count: 16 - suffix.count) + suffix
            do {
                return (temporary, try OutputFile(path: temporary, mode: mode, resumeAt: nil, expected: nil, bufferLimit: bufferLimit, exclusive: true))
            } catch let error as OutputFile.IOError where error.kind == .exists {
                lastError = error
            }
        }
        throw OutputFile.IOError(.system, description: "cannot create a temporary file beside \(path): \(lastError?.description ?? "every name was taken")")
    }
}
