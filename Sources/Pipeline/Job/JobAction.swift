/// What a job asks the service for, one request per record.
public enum JobAction: String, Sendable, Hashable, Codable, CaseIterable {
    /// `tokenization-tokenize`: plaintext values in, tokens and a bfid out.
    case tokenize
    /// `tokenization-detokenize`: a bfid and tokens in, plaintext values out.
    case detokenize
    /// `tokenization-read`: a bfid in, the tokens stored under it out (once per bfid).
    case read
    /// Two requests per record: `tokenization-detokenize` of its tokens and bfid under the old
    /// template, then `tokenization-tokenize` of the plaintext (kept in memory only) under the
    /// new one: new tokens and a new bfid out.
    case retokenize

    /// Whether a request whose answer was lost may be sent again. A read succeeds once per bfid,
    /// so a read whose answer was lost is reported as outcome-unknown instead.
    public var isSafeToRepeat: Bool { self != .read }

    /// Whether the job's answers give a new bfid (tokenize, retokenize); the others read theirs
    /// from the input.
    public var producesBfid: Bool { self == .tokenize || self == .retokenize }

    /// Whether the job reads a bfid from its input (detokenize, read, retokenize).
    public var readsBfid: Bool { self != .tokenize }

    /// Whether the job adds a bfid column to its output (tokenize); a retokenize job writes the
    /// new bfid in the input's bfid column, the others leave it as it is.
    public var addsBfidColumn: Bool { self == .tokenize }

    /// Whether the job's answers are tokens of plaintext it read or learned (tokenize,
    /// retokenize): what `--dedup` may share between records with the same values.
    public var tokenizes: Bool { self == .tokenize || self == .retokenize }

    /// Whether the values answered are plaintext, which never reach the checkpoint.
    public var answersPlaintext: Bool { self == .detokenize }
}

extension JobAction {
    /// The action of a job file: `tokenize`, `detokenize`, `read` or `retokenize`, or the spec's action names.
    public static func parse(_ text: String) throws -> JobAction {
        switch text.lowercased() {
        case "tokenize", "tokenization-tokenize": return .tokenize
        case "detokenize", "tokenization-detokenize": return .detokenize
        case "read", "tokenization-read": return .read
        case "retokenize": return .retokenize
        default: throw MappingError(.unknownAction, "unknown action '\(text)': use tokenize, detokenize, read or retokenize")
        }
    }
}
