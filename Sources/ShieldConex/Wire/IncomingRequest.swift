import NIOCore

/// A request message as the server sees it: every property optional, so that the server can
/// answer a broken request with a precise error instead of dropping it.
public struct IncomingRequest: Sendable, Hashable {
    public var traceId: String?
    public var actionName: String?
    public var request: Request?
    /// Why the payload could not be read, if it could not.
    public var payloadProblem: String?

    public init(traceId: String? = nil, actionName: String? = nil, request: Request? = nil, payloadProblem: String? = nil) {
        self.traceId = traceId
        self.actionName = actionName
        self.request = request
        self.payloadProblem = payloadProblem
    }

    /// Decodes a request message. Throws only when the text is not a JSON object.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws -> IncomingRequest {
        var scanner = JSONScanner(bytes)
        var incoming = IncomingRequest()
        var payload = Request(action: .heartbeat)
        var problem: String?
        try scanner.readObjectKeys { scanner, key in
            switch key {
            case "traceId":
                if try scanner.peek() == .string { incoming.traceId = try scanner.readString() } else { try scanner.skipValue() }
            case "action":
                if try scanner.peek() == .string { incoming.actionName = try scanner.readString() } else { try scanner.skipValue() }
            case "payload":
                if try scanner.peek() == .objectStart {
                    problem = try Request.decodePayload(from: &scanner, into: &payload)
                } else {
                    if try !scanner.readNullIfPresent() { try scanner.skipValue() }
                    problem = "payload is not an object"
                }
            default:
                try scanner.skipValue()
            }
        }
        try scanner.expectEnd()
        if let name = incoming.actionName, let action = Action(rawValue: name) {
            payload.action = action
            incoming.request = payload
        }
        incoming.payloadProblem = problem
        return incoming
    }

    public static func decode(_ buffer: ByteBuffer) throws -> IncomingRequest {
        try buffer.withUnsafeReadableBytes { try decode($0) }
    }
}

extension Request {
    /// Reads a payload object into `request`; returns a description of the first property of the
    /// wrong type (the rest is still read), or `nil`.
    static func decodePayload(from scanner: inout JSONScanner, into request: inout Request) throws -> String? {
        var problem: String?
        try scanner.readObjectKeys { scanner, key in
            func string() throws -> String? {
                if try scanner.peek() == .string { return try scanner.readString() }
                if try !scanner.readNullIfPresent() {
                    try scanner.skipValue()
                    problem = problem ?? "\(key.string) is not a string"
                }
                return nil
            }
            func bool() throws -> Bool? {
                if try scanner.peek() == .bool { return try scanner.readBool() }
                if try !scanner.readNullIfPresent() {
                    try scanner.skipValue()
                    problem = problem ?? "\(key.string) is not a boolean"
                }
                return nil
            }
            switch key {
            case "templateRef": request.templateRef = try string()
            case "reference": request.reference = try string()
            case "bfid": request.bfid = try string()
            case "omit": request.omit = try bool()
            case "store": request.store = try bool()
            case "values":
                if try scanner.peek() == .arrayStart {
                    do {
                        request.values = try scanner.readFieldValues()
                    } catch let error as FieldValueShapeError {
                        problem = problem ?? error.description
                    }
                } else {
                    try scanner.skipValue()
                    problem = problem ?? "values is not an array"
                }
            default: try scanner.skipValue()
            }
        }
        return problem
    }

    /// Decodes a bare payload object (as given to `batch-tokenize call --payload`) for `action`.
    public static func decodePayload(action: Action, json: String) throws -> Request {
        var request = Request(action: action)
        var text = json
        let problem = try text.withUTF8 { bytes in
            var scanner = JSONScanner(UnsafeRawBufferPointer(bytes))
            let problem = try decodePayload(from: &scanner, into: &request)
            try scanner.expectEnd()
            return problem
        }
        if let problem { throw ShieldConexError.invalidRequest(property: "payload", reason: problem) }
        return request
    }
}

struct FieldValueShapeError: Error, CustomStringConvertible {
    var description: String
}
