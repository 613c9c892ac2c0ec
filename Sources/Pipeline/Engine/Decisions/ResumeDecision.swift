import Checkpoint

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a run takes up a job, decided from what the checkpoint and the files say, and nothing
/// else: a pure function of the commit point, the written point and the files' lengths.
///
/// A kill after a batch of results was stored leaves the files' lines up to its written point
/// (handed to the kernel before the batch): the run takes up from there, and commits it at once.
/// Files shorter than that (the machine lost its power, or a file was cut) lost those lines,
/// whose tokens were not stored: the run takes up from the commit point, and no stored result up
/// to the written point is reused (those records are sent again).
public struct ResumeDecision: Sendable, Hashable {
    /// What a file holds, as far as resuming is concerned.
    public enum FileLength: Sendable, Hashable {
        case missing
        /// A regular file of this many bytes.
        case regular(Int64)
        /// A device or FIFO (`/dev/null`): written as it is, never cut back, holds anything.
        case stream
        /// Something else (a folder, a socket): holds nothing.
        case other
        /// A table: holds the rows committed with the commit point, nothing past it (a written
        /// point says nothing of it).
        case table

        func holds(_ length: Int64) -> Bool {
            switch self {
            case .regular(let size): size >= length
            case .stream: true
            case .missing, .other, .table: false
            }
        }

        /// The file at `path`, not following a symlink.
        public static func of(path: String) -> FileLength {
            var info = stat()
            guard lstat(path, &info) == 0 else { return .missing }
            switch info.st_mode & S_IFMT {
            case S_IFREG: return .regular(Int64(info.st_size))
            case S_IFCHR, S_IFIFO: return .stream
            default: return .other
            }
        }
    }

    /// The point the files are cut back to and the run goes on from; `nil`: a fresh start.
    public var point: CommitPoint?
    /// The written point taken as committed (to be committed durably once the files are synced).
    public var adoptedWritten: CommitPoint?
    /// Stored results up to this seq are not reused: their lines were lost with the files.
    public var notReusedThrough: Int
    /// Where the reader starts: after the point, else where the shard starts (`nil`: the input's
    /// first record).
    public var readFrom: RecordPosition?
    /// The seq of the first record this run reads.
    public var firstSeq: Int
    /// Whether the files ended before the written point (said to the operator).
    public var filesLostLines: Bool

    public static func decide(
        committed: CommitPoint?, written: CommitPoint?, output: FileLength, rejects: FileLength, shardStart: RecordPosition? = nil
    ) -> ResumeDecision {
        var point = committed
        var adopted: CommitPoint?
        var notReusedThrough = -1
        var lost = false
        // Only a written point past the commit point says anything.
        if let candidate = written, candidate.seq > committed?.seq ?? -1 {
            if output == .table {
                // (Stored by an earlier version before its commit: its records are sent again.)
                notReusedThrough = candidate.seq
            } else if output.holds(candidate.outputOffset) && rejects.holds(candidate.rejectsOffset) {
                adopted = candidate
                point = candidate
            } else {
                notReusedThrough = candidate.seq
                lost = true
            }
        }
        let readFrom = point.map { RecordPosition(seq: $0.seq + 1, offset: $0.inputOffset, line: $0.inputLine) } ?? shardStart
        return ResumeDecision(
            point: point, adoptedWritten: adopted, notReusedThrough: notReusedThrough, readFrom: readFrom,
            firstSeq: point.map { $0.seq + 1 } ?? shardStart?.seq ?? 0, filesLostLines: lost
        )
    }
}
