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
    /// The bfid, messageId and tokens, as bytes in one buffer (``ResultTexts``).
    public var texts: ResultTexts
    public var errorCode: String?
    public var message: String?
    public var attempts: Int
    /// A keyed digest (``DigestKey``) of the record's mapped values as they were when this
    /// result was stored: a result is reused on resume only for the record as it is now. Held as
    /// a value (``RecordDigest``); ``digest`` gives its bytes.
    public var recordDigest: RecordDigest?

    public var digest: [UInt8]? {
        get { recordDigest?.bytes }
        set { recordDigest = newValue.map(RecordDigest.init(bytes:)) }
    }

    public init(
        seq: Int, status: Status, bfid: String? = nil, messageId: String? = nil, tokens: [String] = [],
        errorCode: String? = nil, message: String? = nil, attempts: Int = 1, digest: [UInt8]? = nil
    ) {
        self.init(
            seq: seq, status: status, texts: bfid == nil && messageId == nil && tokens.isEmpty ? .empty : ResultTexts(bfid: bfid, messageId: messageId, values: tokens),
            errorCode: errorCode, message: message, attempts: attempts, digest: digest
        )
    }

    /// A result whose bfid, messageId and tokens are already bytes (the engine's hot path).
    public init(
        seq: Int, status: Status, texts: ResultTexts, errorCode: String? = nil, message: String? = nil, attempts: Int = 1, digest: [UInt8]? = nil
    ) {
        self.recordDigest = digest.map(RecordDigest.init(bytes:))
        self.seq = seq
        self.status = status
        self.texts = texts
        self.errorCode = errorCode
        self.message = message
        self.attempts = attempts
    }

    public var bfid: String? {
        get { texts.bfid }
        set { texts = ResultTexts(bfid: newValue, messageId: messageId, values: tokens) }
    }

    public var messageId: String? {
        get { texts.messageId }
        set { texts = ResultTexts(bfid: bfid, messageId: newValue, values: tokens) }
    }

    public var tokens: [String] {
        get { texts.values }
        set { texts = ResultTexts(bfid: bfid, messageId: messageId, values: newValue) }
    }

    /// Tokens as the version that kept a row per result stored them (a 32-bit little-endian
    /// count, then each token as a 32-bit little-endian byte length and its UTF-8 bytes), for the
    /// migration of such checkpoints; `nil` for bytes it did not write (a damaged checkpoint).
    static func decodeTokens(_ bytes: [UInt8]) -> [String]? {
        var offset = 0
        func word() -> Int? {
            guard offset + 4 <= bytes.count else { return nil }
            defer { offset += 4 }
            return (0..<4).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
        }
        guard let count = word(), count <= bytes.count else { return nil }
        var tokens: [String] = []
        tokens.reserveCapacity(count)
        for _ in 0..<count {
            guard let length = word(), length <= bytes.count - offset else { return nil }
            tokens.append(String(decoding: bytes[offset..<offset + length], as: UTF8.self))
            offset += length
        }
        return offset == bytes.count ? tokens : nil
    }

    /// Tokens as checkpoints before this encoding kept them: text joined with U+001F (which
    /// could not hold an empty single token, a NUL or a U+001F; read for old checkpoints only).
    static func decodeLegacyTokens(_ text: String?) -> [String] {
        guard let text, !text.isEmpty else { return [] }
        return text.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
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
    /// For an input read from a stream (standard input): the ``StreamDigest`` of its bytes up to
    /// `inputOffset`, checked when a resume reads the stream again up to there.
    public var inputDigest: String?

    public init(seq: Int, inputOffset: Int64, inputLine: Int, outputOffset: Int64, rejectsOffset: Int64, inputDigest: String? = nil) {
        self.seq = seq
        self.inputOffset = inputOffset
        self.inputLine = inputLine
        self.outputOffset = outputOffset
        self.rejectsOffset = rejectsOffset
        self.inputDigest = inputDigest
    }
}
