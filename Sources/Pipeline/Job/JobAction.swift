/// What a job asks the service for, one request per record.
public enum JobAction: String, Sendable, Hashable, Codable, CaseIterable {
    /// `tokenization-tokenize`: plaintext values in, tokens and a bfid out.
    case tokenize
    /// `tokenization-detokenize`: a bfid and tokens in, plaintext values out.
    case detokenize
    /// `tokenization-read`: a bfid in, the tokens stored under it out (once per bfid).
    case read

    /// Whether a request whose answer was lost may be sent again. A read succeeds once per bfid,
    /// so a read whose answer was lost is reported as outcome-unknown instead.
    public var isSafeToRepeat: Bool { self != .read }

    /// Whether the job adds a bfid column (tokenize) or reads one from its input.
    public var producesBfid: Bool { self == .tokenize }

    /// Whether the values answered are plaintext, which never reach the checkpoint.
    public var answersPlaintext: Bool { self == .detokenize }
}

extension JobAction {
    /// The action of a job file: `tokenize`, `detokenize` or `read`, or the spec's action names.
    public static func parse(_ text: String) throws -> JobAction {
        switch text.lowercased() {
        case "tokenize", "tokenization-tokenize": return .tokenize
        case "detokenize", "tokenization-detokenize": return .detokenize
        case "read", "tokenization-read": return .read
        default: throw MappingError(.unknownAction, "unknown action '\(text)': use tokenize, detokenize or read")
        }
    }
}
