/// A checkpoint that cannot be used as asked (another job's, unreadable, ...).
public struct CheckpointError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
