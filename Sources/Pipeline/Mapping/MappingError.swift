/// An invalid mapping, found before any record is sent. The message says exactly what is wrong.
public struct MappingError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
