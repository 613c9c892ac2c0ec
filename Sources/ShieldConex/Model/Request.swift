/// One request message, without its `traceId` (the connection assigns one when it sends).
///
/// Each property is one of the payload properties of the spec; which ones an action uses is
/// documented on the factory methods. `nil` properties are not sent.
public struct Request: Sendable, Hashable {
    public var action: Action
    public var templateRef: String?
    public var omit: Bool?
    public var store: Bool?
    public var reference: String?
    public var bfid: String?
    public var values: [FieldValue]?

    public init(
        action: Action,
        templateRef: String? = nil,
        omit: Bool? = nil,
        store: Bool? = nil,
        reference: String? = nil,
        bfid: String? = nil,
        values: [FieldValue]? = nil
    ) {
        self.action = action
        self.templateRef = templateRef
        self.omit = omit
        self.store = store
        self.reference = reference
        self.bfid = bfid
        self.values = values
    }

    /// `heartbeat`: no payload.
    public static func heartbeat() -> Request { Request(action: .heartbeat) }

    /// `partner-validate`: checks the credentials.
    public static func partnerValidate(reference: String? = nil) -> Request {
        Request(action: .partnerValidate, reference: reference)
    }

    /// `template-validate`: checks that `templateRef` exists for the partner.
    public static func templateValidate(templateRef: String, reference: String? = nil) -> Request {
        Request(action: .templateValidate, templateRef: templateRef, reference: reference)
    }

    /// `tokenization-tokenize`: plaintext values in, tokens and a bfid out.
    public static func tokenize(
        templateRef: String,
        values: [FieldValue],
        omit: Bool = false,
        store: Bool = false,
        reference: String? = nil
    ) -> Request {
        Request(action: .tokenize, templateRef: templateRef, omit: omit, store: store, reference: reference, values: values)
    }

    /// `tokenization-read`: the tokens of a stored bfid, once.
    public static func read(bfid: String, reference: String? = nil) -> Request {
        Request(action: .read, reference: reference, bfid: bfid)
    }

    /// `tokenization-detokenize`: tokens of a bfid in, plaintext values out.
    public static func detokenize(bfid: String, values: [FieldValue], reference: String? = nil) -> Request {
        Request(action: .detokenize, reference: reference, bfid: bfid, values: values)
    }
}
