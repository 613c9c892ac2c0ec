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
        let temporary = path + ".tmp.\(getpid())"
        let file = try OutputFile(path: temporary, mode: mode)
        do {
            try file.write(Array(data))
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

