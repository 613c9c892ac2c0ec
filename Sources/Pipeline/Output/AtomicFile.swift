import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a whole file so that readers see the old contents or the new, never a part: the bytes
/// go to a temporary file beside it (with `mode`: 0644 by default, so that a metrics
/// collector running as another user can read it; reports and metrics hold no secrets), are synced, and replace the file by `rename`.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String, mode: mode_t = 0o644) throws {
        try write(to: path, mode: mode) { try $0.write(Array(data)) }
    }

    /// The same for contents that `body` writes piece by piece (a file too large to hold).
    public static func write(to path: String, mode: mode_t = 0o644, bufferLimit: Int = 256 * 1024, _ body: (OutputFile) throws -> Void) throws {
        let temporary = path + ".tmp.\(getpid())"
        let file = try OutputFile(path: temporary, mode: mode, bufferLimit: bufferLimit)
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
            throw OutputFile.IOError(description: "cannot rename \(temporary) to \(path): \(reason)")
        }
    }
}

