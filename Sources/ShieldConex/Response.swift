/// One response message, decoded liberally.
///
/// `success` is read from `success` or from the spec's misspelt `succes`; a failure's
/// `errorCode` and `message` are in ``failure``; properties the server did not send are `nil`.
public struct Response: Sendable, Hashable {
    /// A `success: false` answer's reason. Either part may be missing (partner-validate sends neither).
    public struct Failure: Sendable, Hashable, CustomStringConvertible {
        public var code: ErrorCode?
        public var message: String?

        public init(code: ErrorCode?, message: String?) {
            self.code = code
            self.message = message
        }

        public var description: String {
            switch (code, message) {
            case (let code?, let message?): "\(code): \(message)"
            case (let code?, nil): "\(code)"
            case (nil, let message?): message
            case (nil, nil): "no error detail"
            }
        }
    }

    public var traceId: String
    /// The action as the server named it (kept as text so that an unknown one is not lost).
    public var action: String?
    public var messageId: String?
    public var success: Bool
    public var bfid: String?
    public var values: [FieldValue]?
    /// The heartbeat's server time in milliseconds since 1970.
    public var timestamp: Int64?
    public var failure: Failure?
    /// The message text as received, kept only when the connection is configured to.
    public var raw: String?

    public init(
        traceId: String,
        action: String? = nil,
        messageId: String? = nil,
        success: Bool,
        bfid: String? = nil,
        values: [FieldValue]? = nil,
        timestamp: Int64? = nil,
        failure: Failure? = nil,
        raw: String? = nil
    ) {
        self.traceId = traceId
        self.action = action
        self.messageId = messageId
        self.success = success
        self.bfid = bfid
        self.values = values
        self.timestamp = timestamp
        self.failure = failure
        self.raw = raw
    }
}
