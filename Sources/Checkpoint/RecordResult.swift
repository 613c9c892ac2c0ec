/// The outcome of one record, keyed by its `seq`: enough to write its output (or reject) line
/// again without another request. Holds tokens, never plaintext.
public struct RecordResult: Sendable, Hashable {
    public enum Status: Int, Sendable, Hashable, CaseIterable {
        /// Answered with success: bfid and tokens are set.
        case done = 1
        /// Rejected (locally or by the server): errorCode and message are set.
        case rejected = 2
        /// The request may or may not have been carried out (a lost `tokenization-read` answer).
        case outcomeUnknown = 3
        /// Sent, and not yet answered: recorded before a request that must not be repeated
        /// (`tokenization-read`) goes out. Found on resume, it becomes outcome-unknown.
        case sent = 4
        /// Still failing for a transient reason (throttling, server error, lost answers) when its
        /// retry budget ran out: written to the rejects file as transient, never reused; the next
        /// run sends it again.
        case transient = 5
    }

    public var seq: Int
    public var status: Status
    public var bfid: String?
    public var messageId: String?
    public var tokens: [String]
    public var errorCode: String?
    public var message: String?
    public var attempts: Int

    public init(
        seq: Int, status: Status, bfid: String? = nil, messageId: String? = nil, tokens: [String] = [],
        errorCode: String? = nil, message: String? = nil, attempts: Int = 1
    ) {
        self.seq = seq
        self.status = status
        self.bfid = bfid
        self.messageId = messageId
        self.tokens = tokens
        self.errorCode = errorCode
        self.message = message
        self.attempts = attempts
    }

    /// Tokens are joined with the ASCII unit separator, which no token contains.
    static let separator: Character = "\u{1F}"

    var encodedTokens: String? {
        switch tokens.count {
        case 0: return nil
        case 1: return tokens[0]
        default:
            var text = ""
            text.reserveCapacity(tokens.reduce(tokens.count) { $0 + $1.utf8.count })
            for (index, token) in tokens.enumerated() {
                if index > 0 { text.append(Self.separator) }
                text.append(token)
            }
            return text
        }
    }

    static func decodeTokens(_ text: String?) -> [String] {
        guard let text, !text.isEmpty else { return [] }
        return text.split(separator: separator, omittingEmptySubsequences: false).map(String.init)
    }
}

/// How far the ordered output is durably written: every record up to `seq` has its output or
/// rejects line on disk, and the files end at these offsets.
public struct CommitPoint: Sendable, Hashable, Codable {
    /// The last committed record's seq (-1 before any).
    public var seq: Int
    /// Where the next input record starts, and its line number.
    public var inputOffset: Int64
    public var inputLine: Int
    public var outputOffset: Int64
    public var rejectsOffset: Int64

    public init(seq: Int, inputOffset: Int64, inputLine: Int, outputOffset: Int64, rejectsOffset: Int64) {
        self.seq = seq
        self.inputOffset = inputOffset
        self.inputLine = inputLine
        self.outputOffset = outputOffset
        self.rejectsOffset = rejectsOffset
    }
}
