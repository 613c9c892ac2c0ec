/// Which file a path named when a job created it: device and inode. A file deleted and written
/// again, or replaced by another, has another identity even at the same path.
public struct FileIdentity: Sendable, Hashable, Codable {
    public var device: UInt64
    public var inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }
}

/// A file a job created, as its checkpoint recorded it: its identity, and its absolute path
/// (checkpoints of earlier versions did not record paths).
public struct RecordedFile: Sendable, Hashable, Codable {
    public var identity: FileIdentity
    public var path: String?

    public init(identity: FileIdentity, path: String? = nil) {
        self.identity = identity
        self.path = path
    }
}
