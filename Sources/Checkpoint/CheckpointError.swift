/// A checkpoint that cannot be used as asked: what went wrong (``kind``), and in words.
public struct CheckpointError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// Another run holds the checkpoint's lock.
        case inUse
        /// The checkpoint belongs to another job (its identity differs).
        case otherJob
        /// There is no checkpoint at the path.
        case missing
        /// The file is not a checkpoint of this tool.
        case notACheckpoint
        /// The input could not be read to fingerprint it.
        case unreadableInput
        /// The database refused what it must do (WAL mode, a write).
        case storage
    }

    public var kind: Kind
    public var description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    /// A storage failure, in words.
    public init(_ description: String) {
        self.init(.storage, description)
    }
}
