/// A ShieldConex `errorCode`. Unknown codes are kept as they came; known ones have names.
public struct ErrorCode: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public var rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public init(_ rawValue: Int) { self.rawValue = rawValue }

    // Codes from the two source documents.
    /// 1202: the templateRef is unknown to the partner.
    public static let templateNotFound = ErrorCode(1202)
    /// 1203: the bfid is unknown, was not stored, or was already read.
    public static let notFound = ErrorCode(1203)
    /// 1403: the template's detokenization window (activeFrom / activeTo) excludes now.
    public static let detokenizationPeriodViolated = ErrorCode(1403)
    /// 8001: internal server error; transient.
    public static let serverError = ErrorCode(8001)
    /// 8003: authentication error.
    public static let authenticationError = ErrorCode(8003)
    /// 8004: permission denied.
    public static let permissionDenied = ErrorCode(8004)

    // Codes the spec does not name; chosen for the simulator and documented in the README.
    /// 1001: the message is not a JSON object.
    public static let malformedMessage = ErrorCode(1001)
    /// 1002: the message has no usable `traceId`.
    public static let missingTraceId = ErrorCode(1002)
    /// 1003: the `action` is missing or unknown.
    public static let unknownAction = ErrorCode(1003)
    /// 1004: the payload is missing a required property or a property is out of range.
    public static let invalidPayload = ErrorCode(1004)
    /// 1005: a value names a field that is not in the template.
    public static let unknownField = ErrorCode(1005)
    /// 1006: a value cannot be tokenized for its field kind (e.g. a card number that is not 12-19 digits).
    public static let invalidValue = ErrorCode(1006)
    /// 1402: detokenization is refused because the template is irreversible.
    public static let irreversibleTemplate = ErrorCode(1402)
    /// 1429: too many requests for this key (rate limit).
    public static let rateLimited = ErrorCode(1429)

    /// A short name for a known code, `nil` for others.
    public var name: String? {
        switch rawValue {
        case 1202: "template not found"
        case 1203: "not found"
        case 1403: "detokenization period violated"
        case 8001: "server error"
        case 8003: "authentication error"
        case 8004: "permission denied"
        case 1001: "malformed message"
        case 1002: "missing traceId"
        case 1003: "unknown action"
        case 1004: "invalid payload"
        case 1005: "unknown field"
        case 1006: "invalid value"
        case 1402: "irreversible template"
        case 1429: "rate limited"
        default: nil
        }
    }

    /// Errors that may go away if the same request is sent again later.
    public var isTransient: Bool { self == .serverError || self == .rateLimited }

    /// Errors after which no further request of the job can succeed.
    public var isFatal: Bool {
        self == .authenticationError || self == .permissionDenied || self == .templateNotFound
    }

    public var description: String {
        if let name { return "\(rawValue) (\(name))" }
        return "\(rawValue)"
    }

    public static func < (lhs: ErrorCode, rhs: ErrorCode) -> Bool { lhs.rawValue < rhs.rawValue }
}
