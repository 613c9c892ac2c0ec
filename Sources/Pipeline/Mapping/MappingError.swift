/// An invalid mapping, found before any record is sent: what is wrong (``kind``), and exactly
/// where, in words.
public struct MappingError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// No instruction at all.
        case noMapping
        /// An instruction that cannot be compiled: an empty field name, a JSONPath or a regular
        /// expression that does not parse, a transformation that does not apply to the format.
        case invalidInstruction
        /// A column (mapped, the id, the spans) that the header does not have.
        case unknownColumn
        /// A mapped column whose name the header has more than once.
        case ambiguousColumn
        /// One field, or one place of the record, mapped twice.
        case mappedTwice
        /// A column the job would show (the id) that the mapping reads.
        case sensitiveColumn
        /// A column the job writes (the bfid, the spans) that the input already has.
        case columnTaken
        /// A job file's action that is none of tokenize, detokenize, read.
        case unknownAction
    }

    public var kind: Kind
    public var description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
