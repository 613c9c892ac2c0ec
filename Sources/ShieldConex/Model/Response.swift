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
    public var success: Bool
    /// The messageId, bfid and values as bytes in one buffer (``ResponseTexts``); the properties
    /// below read and write them as `String`s.
    public var texts: ResponseTexts
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
        self.texts = ResponseTexts(messageId: messageId, bfid: bfid, values: values)
        self.success = success
        self.timestamp = timestamp
        self.failure = failure
        self.raw = raw
    }

    /// Takes the texts' buffer out (the response is left with none), to decode the next answer into.
    public mutating func takeTexts() -> ResponseTexts {
        var texts = ResponseTexts()
        swap(&texts, &self.texts)
        return texts
    }

    public var messageId: String? {
        get { texts.messageId }
        set { texts.append(.messageId, newValue) }
    }

    public var bfid: String? {
        get { texts.bfid }
        set { texts.append(.bfid, newValue) }
    }

    public var values: [FieldValue]? {
        get { texts.values }
        set { texts = ResponseTexts(messageId: messageId, bfid: bfid, values: newValue) }
    }

    // Equal when they say the same, whatever order the decoder met the texts in.
    public static func == (lhs: Response, rhs: Response) -> Bool {
        lhs.traceId == rhs.traceId && lhs.action == rhs.action && lhs.success == rhs.success && lhs.timestamp == rhs.timestamp
            && lhs.failure == rhs.failure && lhs.raw == rhs.raw && lhs.messageId == rhs.messageId && lhs.bfid == rhs.bfid
            && lhs.values == rhs.values
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(traceId)
        hasher.combine(action)
        hasher.combine(success)
        hasher.combine(timestamp)
        hasher.combine(failure)
        hasher.combine(raw)
        hasher.combine(messageId)
        hasher.combine(bfid)
        hasher.combine(values)
    }
}
