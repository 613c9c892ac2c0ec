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
    /// The field names that the values usually have, in order, each with its element's start
    /// (`{"name":"…","value":`) written once: a value of that name at that place is written
    /// from it, any other name as any other text.
    private let names: [(name: String, start: [UInt8])]

    /// `fieldNames`: the names the values usually have, in their order (the job's mapping).
    public init(action: Action, templateRef: String? = nil, omit: Bool? = nil, store: Bool? = nil, fieldNames: [String] = []) {
        self.action = action
        names = fieldNames.map { name in
            var writer = JSONWriter(capacity: name.utf8.count + 24)
            writer.raw("{\"name\":")
            writer.string(name)
            writer.raw(",\"value\":")
            return (name, writer.bytes)
        }
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
            if let values { writer.member("values", first: &first); append(values, to: &writer) }
            writer.byte(UInt8(ascii: "}"))
        }
        writer.byte(UInt8(ascii: "}"))
        requests.endBody(&writer)
    }

    /// `[{"name":…,"value":…},…]`, as ``JSONWriter/values(_:)`` writes it.
    private func append(_ values: [FieldValue], to writer: inout JSONWriter) {
        writer.byte(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { writer.byte(UInt8(ascii: ",")) }
            if index < names.count, names[index].name == value.name {
                writer.bytes.append(contentsOf: names[index].start)
            } else {
                writer.raw("{\"name\":")
                writer.string(value.name)
                writer.raw(",\"value\":")
            }
            writer.string(value.value)
            writer.byte(UInt8(ascii: "}"))
        }
        writer.byte(UInt8(ascii: "]"))
    }
}
