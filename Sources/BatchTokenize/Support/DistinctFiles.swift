import ArgumentParser
import Foundation

/// Refuses a job whose files are not distinct (`--output` equal to `--input` truncated the
/// input): two of input, output, rejects, checkpoint, report and metrics that are one file —
/// the same device and inode, or the same path once resolved — before anything is opened for
/// writing.
enum DistinctFiles {
    struct Place: Equatable {
        var resolved: String
        var identity: (device: UInt64, inode: UInt64)?

        static func == (lhs: Place, rhs: Place) -> Bool {
            if let left = lhs.identity, let right = rhs.identity, left == right { return true }
            return lhs.resolved == rhs.resolved
        }
    }

    static func check(_ files: [(option: String, path: String?)]) throws {
        var seen: [(option: String, path: String, place: Place)] = []
        for case let (option, path?) in files {
            let place = Self.place(of: path)
            if let earlier = seen.first(where: { $0.place == place }) {
                throw ValidationError(
                    "\(earlier.option) and \(option) are the same file (\(earlier.path)); every file a command reads or writes "
                        + "(input, plan, job file, key file, output, rejects, checkpoint, report, metrics) needs a file of its own"
                )
            }
            seen.append((option, path, place))
        }
    }

    /// The path with every symlink in its folder resolved (the file itself may not exist yet),
    /// and the file's device and inode when it exists (hard links, bind mounts).
    static func place(of path: String) -> Place {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let folder = url.deletingLastPathComponent().resolvingSymlinksInPath()
        var resolved = folder.appendingPathComponent(url.lastPathComponent).path
        var info = stat()
        var identity: (UInt64, UInt64)?
        if stat(path, &info) == 0 {
            identity = (UInt64(info.st_dev), UInt64(info.st_ino))
            resolved = URL(fileURLWithPath: resolved).resolvingSymlinksInPath().path
        }
        return Place(resolved: resolved, identity: identity)
    }
}
