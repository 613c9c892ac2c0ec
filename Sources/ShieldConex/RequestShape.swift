/// What every request of a job has in common (its action, templateRef, omit and store), written
/// as JSON once; ``append(reference:bfid:values:to:)`` adds one record's reference, bfid and
/// values. The client's hot path: no ``Request`` and no `String` for a reference per record.
///
/// The bytes are those that ``Request/encode(traceId:into:)-(_,JSONWriter)`` writes after the
/// traceId for the same request, and a request that ``Request/validate()`` refuses is refused
/// here with the same error, checked in the same order (both tested).
public struct RequestShape: Sendable {
    public let action: Action
    /// `,"action":"…"`, and `,"payload":{` when the action has a payload.
    private let head: [UInt8]
    /// The constant members, comma-joined: before the reference (tokenize), after it (the others).
    private let before: [UInt8]
    private let after: [UInt8]
    /// Why every request of this shape is refused (a missing or over-long templateRef), if it is.
    private let problem: ShieldConexError?

    public init(action: Action, templateRef: String? = nil, omit: Bool? = nil, store: Bool? = nil) {
        self.action = action
        var writer = JSONWriter(capacity: 64)
        writer.raw(",\"action\":\"")
        writer.bytes.append(contentsOf: action.rawValue.utf8)
        writer.byte(UInt8(ascii: "\""))
        if action != .heartbeat { writer.raw(",\"payload\":{") }
        head = writer.bytes
        var constant = JSONWriter(capacity: 128)
        var first = true
        if let templateRef { constant.member("templateRef", first: &first); constant.string(templateRef) }
        if let omit { constant.member("omit", first: &first); constant.bool(omit) }
        if let store { constant.member("store", first: &first); constant.bool(store) }
        (before, after) = action == .tokenize ? (constant.bytes, []) : ([], constant.bytes)
        switch action {
        case .templateValidate, .tokenize:
            do {
                try Request.check("templateRef", templateRef, required: true, 1...255, action: action)
                problem = nil
            } catch {
                problem = error
            }
        case .heartbeat, .partnerValidate, .read, .detokenize:
            problem = nil
        }
    }

    /// Appends the body of one request (everything after its traceId) to `requests`, or throws
    /// what ``Request/validate()`` would for it (nothing is appended then).
    public func append(
        reference: UnsafeRawBufferPointer?, bfid: String?, values: [FieldValue]?, to requests: inout EncodedRequests
    ) throws(ShieldConexError) {
        if let reference, reference.isEmpty || reference.count > 255 {
            try Request.check("reference", String(decoding: reference, as: UTF8.self), required: false, 1...255, action: action)
        }
        if let problem { throw problem }
        try Request.checkRecordParts(action: action, bfid: bfid, values: values)
        var writer = requests.startBody()
        writer.bytes.append(contentsOf: head)
        if action != .heartbeat {
            var first = true
            if !before.isEmpty {
                writer.bytes.append(contentsOf: before)
                first = false
            }
            if let reference {
                writer.member("reference", first: &first)
                writer.string(utf8: reference)
            }
            if !after.isEmpty {
                if !first { writer.byte(UInt8(ascii: ",")) }
                writer.bytes.append(contentsOf: after)
                first = false
            }
            if let bfid { writer.member("bfid", first: &first); writer.string(bfid) }
            if let values { writer.member("values", first: &first); writer.values(values) }
            writer.byte(UInt8(ascii: "}"))
        }
        writer.byte(UInt8(ascii: "}"))
        requests.endBody(&writer)
    }
}
