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
        /// `values`: the tokens (tokenize, read) or plaintext (detokenize) in the order of the
        /// request's values; `bfid`: the one answered (tokenize) or sent (detokenize, read).
        case done(bfid: String, values: [String], messageId: String?)
        case rejected(code: String, message: String, messageId: String?)
        /// Send the request again after `delay`; the record has been failing since `failingSince`.
        case retry(after: Duration, failingSince: NIODeadline)
        /// Still failing when its budget ran out (or the run is stopping): a transient reject.
        case transient(code: String, message: String, messageId: String?)
        case outcomeUnknown(message: String, messageId: String?)
        /// The job cannot go on (refused credentials, permission, unknown template).
        case fatal(message: String)
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

    public init(action: JobAction, omit: Bool, retry: RetryPolicy, masking: CardNumberMasking) {
        self.action = action
        self.omit = omit
        self.retry = retry
        self.masking = masking
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
            guard let values = answeredValues(response, for: request.values) else {
                return .rejected(
                    code: "answer-mismatch", message: "the answer has \(response.values?.count ?? 0) values for \(request.values.count) mapped",
                    messageId: response.messageId
                )
            }
            guard let bfid = action.producesBfid ? response.bfid : request.bfid else {
                return .rejected(code: "answer-mismatch", message: "the answer has no bfid", messageId: response.messageId)
            }
            return .done(bfid: bfid, values: values, messageId: response.messageId)
        case .success(let response):
            let code = response.failure?.code
            if let code, code.isFatal {
                return .fatal(message: "the service answered \(response.failure!): the job cannot go on")
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
                message: masking.mask(response.failure?.message ?? "the service answered success: false", values: request.values.map(\.value)),
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

    /// The answered values in the order of the requested ones: tokens (tokenize, read) or
    /// plaintext (detokenize). Matched by field name, else by position; `nil` when they do not fit.
    func answeredValues(_ response: Response, for requested: [FieldValue]) -> [String]? {
        let answered = response.values ?? []
        if action == .tokenize && omit {
            return Array(repeating: "", count: requested.count)
        }
        guard answered.count >= requested.count || action == .read else { return nil }
        var values: [String] = []
        values.reserveCapacity(requested.count)
        for (position, value) in requested.enumerated() {
            if position < answered.count, answered[position].name == value.name {
                values.append(answered[position].value)
            } else if let match = answered.first(where: { $0.name == value.name }) {
                values.append(match.value)
            } else if action == .read {
                values.append(value.value)  // a field the tokenize job skipped (empty) stays as it was
            } else if answered.count == requested.count {
                values.append(answered[position].value)
            } else {
                return nil
            }
        }
        return values
    }

    static func describe(_ duration: Duration) -> String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return seconds < 60 ? String(format: "%.1f s", seconds) : String(format: "%.1f min", seconds / 60)
    }
}
