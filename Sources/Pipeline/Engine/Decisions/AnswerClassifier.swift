import Checkpoint
import Foundation
import NIOCore
import ShieldConex

/// What one answer (or the failure of one request) means for its record: the rules of
/// DESIGN.md's invariant 6 in one place. Pure: the time, the record's retry state and the
/// random source are passed in, so every rule is tested without sockets or clocks.
///
/// - an answer with `success: true` whose values fit the request → ``Verdict/done``;
/// - one whose values do not fit, or that lacks the bfid a tokenize must give → `answer-mismatch` reject;
/// - `success: false` with a fatal code (8003, 8004, 1202) → ``Verdict/fatal``: the job stops;
/// - `success: false` with a transient code (8001, 1429), a timeout or a lost connection → retried
///   after a backoff while the record's budget lasts, then ``Verdict/transient`` (sent again by
///   the next run); a read is the exception: only a 1429 (not carried out) may go again, any
///   other transient failure of a read is ``Verdict/outcomeUnknown``;
/// - any other `success: false` → a reject with the service's code and (masked) message;
/// - any other failure (an invalid request) → a `client-error` reject.
public struct AnswerClassifier: Sendable {
    public enum Verdict: Sendable, Equatable {
        /// The record's texts as bytes: `values`, the tokens (tokenize, read) or plaintext
        /// (detokenize) in the order of the request's values; `bfid`, the one answered
        /// (tokenize) or sent (detokenize, read); the answer's messageId.
        case done(ResultTexts)
        case rejected(code: String, message: String, messageId: String?)
        /// Send the request again after `delay`; the record has been failing since `failingSince`.
        case retry(after: Duration, failingSince: NIODeadline)
        /// Still failing when its budget ran out (or the run is stopping): a transient reject.
        case transient(code: String, message: String, messageId: String?)
        case outcomeUnknown(message: String, messageId: String?)
        /// The job cannot go on (refused credentials, permission, unknown template).
        case fatal(message: String)

        /// A success with these texts.
        public static func done(bfid: String, values: [String], messageId: String?) -> Verdict {
            .done(ResultTexts(bfid: bfid, messageId: messageId, values: values))
        }
    }

    /// The request an answer belongs to, as the classifier needs to see it.
    public struct Request: Sendable {
        /// The values sent (their names match the answer's; their values mask messages).
        public var values: [FieldValue]
        /// The bfid sent (detokenize, read).
        public var bfid: String?
        /// Attempts so far, this one included.
        public var attempts: Int
        /// When the record first failed transiently, if it has.
        public var failingSince: NIODeadline?

        public init(values: [FieldValue], bfid: String? = nil, attempts: Int, failingSince: NIODeadline? = nil) {
            self.values = values
            self.bfid = bfid
            self.attempts = attempts
            self.failingSince = failingSince
        }
    }

    public let action: JobAction
    /// A tokenize with `omit`: the service keeps the tokens, the output gets empty values.
    public let omit: Bool
    public let retry: RetryPolicy
    public let masking: CardNumberMasking
    /// The key the job sends: taken out of every message the service sends back (``APIKey/redact(_:key:)``).
    public let key: APIKey?

    public init(action: JobAction, omit: Bool, retry: RetryPolicy, masking: CardNumberMasking, key: APIKey? = nil) {
        self.action = action
        self.omit = omit
        self.retry = retry
        self.masking = masking
        self.key = key
    }

    /// A text of the service's, as it may be shown: the record's values masked, the key redacted.
    func shown(_ text: String, values: [String]) -> String {
        APIKey.redact(masking.mask(text, values: values), key: key)
    }

    /// Whether an answer is transient: throttling or another transient failure, whatever its
    /// code, a timeout or a lost connection (counted in the summary; the record goes again).
    public static func isTransient(_ result: Result<Response, any Error>) -> Bool {
        switch result {
        case .success(let response): !response.success && (response.failure?.code?.isTransient ?? false)
        case .failure(let error): (error as? ShieldConexError)?.isRetryable ?? false
        }
    }

    /// Whether an answer says the service is congested, for the send rate: the service's own
    /// transient answers (8001, 1429, ...). Requests that got no answer (timed out on a dead
    /// connection, lost with it) say nothing about the service's load: a half-open connection's
    /// 64 expired requests counted as congestion cut a healthy run's rate to a few hundred a
    /// second, recovering over minutes. The connection pool's reconnect backoff deals with them.
    public static func isCongestion(_ result: Result<Response, any Error>) -> Bool {
        switch result {
        case .success(let response): !response.success && (response.failure?.code?.isTransient ?? false)
        case .failure: false
        }
    }

    public func classify<Random: RandomNumberGenerator>(
        _ result: Result<Response, any Error>, of request: Request, now: NIODeadline, stopping: Bool, random: inout Random
    ) -> Verdict {
        switch result {
        case .success(let response) where response.success:
            return response.texts.withParts { parts -> Verdict in
                guard let texts = answeredTexts(parts, for: request) else {
                    return .rejected(
                        code: "answer-mismatch", message: "the answer has \(parts.valueCount ?? 0) values for \(request.values.count) mapped",
                        messageId: response.messageId
                    )
                }
                if action.producesBfid ? parts.bfid == nil : request.bfid == nil {
                    return .rejected(code: "answer-mismatch", message: "the answer has no bfid", messageId: response.messageId)
                }
                // A bfid the output cannot hold as one word (empty, a space, a comma, a quote)
                // would break the detokenize job that reads it back: not a done record.
                if action.producesBfid, let bfid = parts.bfid, !Self.isWellFormedBfid(bfid) {
                    return .rejected(
                        code: "answer-bad-bfid", message: "the answer's bfid is empty or holds a space, a separator or a control character",
                        messageId: response.messageId
                    )
                }
                // A service that answers the plaintext as the token would put card data in the
                // tokenized output.
                if action == .tokenize, !omit, let field = Self.plaintextAnswered(parts, for: request) {
                    return .rejected(
                        code: "answer-plaintext", message: "the service answered the value of field '\(field)' as its token: the value was not tokenized",
                        messageId: response.messageId
                    )
                }
                return .done(texts)
            }
        case .success(let response):
            let code = response.failure?.code
            if let code, code.isFatal {
                // The service's message may echo the record's values (a CVV, an expiry): masked
                // like every text that comes from the service.
                return .fatal(message: shown("the service answered \(response.failure!): the job cannot go on", values: request.values.map(\.value)))
            }
            if let code, code.isTransient {
                // A throttled request (1429) was not carried out, so even a read may go again; a
                // read that met 8001 (the service's "internal error") may have been carried out.
                guard action.isSafeToRepeat || code == .rateLimited else {
                    return .outcomeUnknown(
                        message: "the read was answered with \(code): it may have been carried out, and a read is not sent twice",
                        messageId: response.messageId
                    )
                }
                return retryOrGiveUp(request, now: now, stopping: stopping, reason: "the service answered \(code)",
                                     code: String(code.rawValue), messageId: response.messageId, random: &random)
            }
            return .rejected(
                code: code.map { String($0.rawValue) } ?? "unknown",
                message: shown(response.failure?.message ?? "the service answered success: false", values: request.values.map(\.value)),
                messageId: response.messageId
            )
        case .failure(let error):
            guard (error as? ShieldConexError)?.isRetryable ?? false else {
                return .rejected(code: "client-error", message: masking.mask("\(error)"), messageId: nil)
            }
            guard action.isSafeToRepeat else {
                return .outcomeUnknown(message: masking.mask("the answer was lost (\(error)); a read is not sent twice"), messageId: nil)
            }
            return retryOrGiveUp(request, now: now, stopping: stopping, reason: masking.mask("\(error)"), code: "transient", messageId: nil, random: &random)
        }
    }

    private func retryOrGiveUp<Random: RandomNumberGenerator>(
        _ request: Request, now: NIODeadline, stopping: Bool, reason: String, code: String, messageId: String?, random: inout Random
    ) -> Verdict {
        let since = request.failingSince ?? now
        let elapsed = Duration.nanoseconds((now - since).nanoseconds)
        guard !stopping, retry.allowsRetry(after: elapsed) else {
            return .transient(
                code: code,
                message: "transient: \(reason); still failing after \(Self.describe(elapsed)) and \(request.attempts) attempts; "
                    + "not finished: the next run of the same command sends it again",
                messageId: messageId
            )
        }
        return .retry(after: retry.backoff(beforeAttempt: request.attempts + 1, using: &random), failingSince: since)
    }

    /// The record's texts from a success answer, as bytes: the bfid (answered, or sent), the
    /// messageId, and the answered values in the order of the requested ones, matched by field
    /// name, else by position (a read keeps a value the answer lacks: a field the tokenize job
    /// skipped); `nil` when they do not fit.
    func answeredTexts(_ parts: ResponseTexts.Parts, for request: Request) -> ResultTexts? {
        let requested = request.values
        let answeredCount = parts.valueCount ?? 0
        let omitted = action == .tokenize && omit
        guard omitted || answeredCount >= requested.count || action == .read else { return nil }
        return withUnsafeTemporaryAllocation(of: (name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer).self, capacity: answeredCount) {
            answered in
            var count = 0
            parts.forEachValue { name, value in
                guard count < answeredCount else { return }
                answered.initializeElement(at: count, to: (name, value))
                count += 1
            }
            defer { answered.baseAddress?.deinitialize(count: count) }
            var builder = ResultTexts.Builder(capacity: 8 + (parts.bfid?.count ?? 32) + (parts.messageId?.count ?? 0) + requested.count * 24)
            if action.producesBfid { builder.appendOptional(parts.bfid) } else { builder.appendOptional(request.bfid) }
            builder.appendOptional(parts.messageId)
            builder.appendCount(requested.count)
            for (position, value) in requested.enumerated() {
                if omitted {
                    builder.appendValue("")
                } else if position < count, Self.equal(answered[position].name, value.name) {
                    builder.appendValue(answered[position].value)
                } else if let match = (0..<count).first(where: { Self.equal(answered[$0].name, value.name) }) {
                    builder.appendValue(answered[match].value)
                } else if action == .read {
                    builder.appendValue(value.value)  // a field the tokenize job skipped (empty) stays as it was
                } else if count == requested.count {
                    builder.appendValue(answered[position].value)
                } else {
                    return nil
                }
            }
            return builder.texts
        }
    }

    /// A bfid is a word of printable ASCII without the separators of the output formats: not
    /// empty, no space, comma, semicolon, quote or backslash, at most 4 KiB.
    static func isWellFormedBfid(_ bfid: UnsafeRawBufferPointer) -> Bool {
        guard !bfid.isEmpty, bfid.count <= 4_096 else { return false }
        for byte in bfid {
            guard byte > 0x20, byte < 0x7F, byte != UInt8(ascii: ","), byte != UInt8(ascii: ";"), byte != UInt8(ascii: "\""),
                byte != UInt8(ascii: "'"), byte != UInt8(ascii: "\\")
            else { return false }
        }
        return true
    }

    /// Values shorter than this may equal their token by chance (a format-preserving token of a
    /// three-digit CVV is one of a thousand); a longer one answered as its own token was not
    /// tokenized.
    static let plaintextMinimumLength = 6

    /// The name of a field whose answered token is the value that was sent (of at least
    /// ``plaintextMinimumLength`` bytes), if any.
    static func plaintextAnswered(_ parts: ResponseTexts.Parts, for request: Request) -> String? {
        var found: String?
        parts.forEachValue { name, token in
            guard found == nil, token.count >= plaintextMinimumLength else { return }
            for value in request.values where equal(name, value.name) && equal(token, value.value) {
                found = value.name
                return
            }
        }
        return found
    }

    private static func equal(_ bytes: UnsafeRawBufferPointer, _ name: String) -> Bool {
        var name = name
        return name.withUTF8 { $0.count == bytes.count && ($0.isEmpty || memcmp($0.baseAddress!, bytes.baseAddress!, $0.count) == 0) }
    }

    static func describe(_ duration: Duration) -> String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return seconds < 60 ? String(format: "%.1f s", seconds) : String(format: "%.1f min", seconds / 60)
    }
}
