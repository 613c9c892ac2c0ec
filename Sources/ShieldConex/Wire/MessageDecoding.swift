import NIOCore

extension Response {
    /// Decodes a response message liberally: unknown keys are skipped, `succes` counts as
    /// `success`, `errorCode` may be a number or a numeric string, a failure may sit at the top
    /// level (`errorCode`/`code` and `message`, as the ORCA error shape has it) or in the payload.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws -> Response {
        var none: RecurringStrings?
        return try decode(bytes, recurring: &none)
    }

    /// Decodes a response, taking field names and the action from `recurring` (and adding them to
    /// it): an answer's names are the same every time.
    public static func decode(_ buffer: ByteBuffer, recurring: inout RecurringStrings) throws -> Response {
        var cache: RecurringStrings? = RecurringStrings()
        swap(&cache!, &recurring)
        defer { swap(&cache!, &recurring) }
        return try buffer.withUnsafeReadableBytes { try decode($0, recurring: &cache) }
    }

    /// Decodes an answer for the client that sent its request: a traceId made by `traceIds` is
    /// matched as bytes and given back as its counter, and the response's `traceId` is left empty
    /// (no `String` per answer); any other traceId is kept as text and `counter` is `nil`.
    public static func decode(
        _ buffer: ByteBuffer, recurring: inout RecurringStrings, traceIds: TraceIDGenerator, counter: inout UInt64?
    ) throws -> Response {
        var spare = ResponseTexts()
        return try decode(buffer, recurring: &recurring, traceIds: traceIds, counter: &counter, reusing: &spare)
    }

    /// The response's texts are written into `spare`'s buffer (emptied first; its capacity
    /// kept), which the response then holds: a caller that takes it back once done with the
    /// response (``Response/takeTexts()``) decodes the next answer with no allocation.
    public static func decode(
        _ buffer: ByteBuffer, recurring: inout RecurringStrings, traceIds: TraceIDGenerator, counter: inout UInt64?,
        reusing spare: inout ResponseTexts
    ) throws -> Response {
        var cache: RecurringStrings? = RecurringStrings()
        swap(&cache!, &recurring)
        defer { swap(&cache!, &recurring) }
        return try buffer.withUnsafeReadableBytes { try decode($0, recurring: &cache, traceIds: traceIds, counter: &counter, reusing: &spare) }
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, recurring: inout RecurringStrings?) throws -> Response {
        var counter: UInt64?
        return try decode(bytes, recurring: &recurring, traceIds: nil, counter: &counter)
    }

    static func decode(
        _ bytes: UnsafeRawBufferPointer, recurring: inout RecurringStrings?, traceIds: TraceIDGenerator?, counter: inout UInt64?
    ) throws -> Response {
        var spare = ResponseTexts()
        return try decode(bytes, recurring: &recurring, traceIds: traceIds, counter: &counter, reusing: &spare)
    }

    static func decode(
        _ bytes: UnsafeRawBufferPointer, recurring: inout RecurringStrings?, traceIds: TraceIDGenerator?, counter: inout UInt64?,
        reusing spare: inout ResponseTexts
    ) throws -> Response {
        var scanner = JSONScanner(bytes)
        swap(&scanner.recurring, &recurring)
        defer { swap(&scanner.recurring, &recurring) }
        var response = Response(traceId: "", success: false)
        swap(&response.texts, &spare)
        response.texts.removeAll()
        // The texts are a part of the message: room for all of them at once, not grown piecemeal.
        response.texts.reserveCapacity(bytes.count)
        var sawTraceId = false
        var code: ErrorCode?
        var message: String?
        try scanner.readObjectKeys { scanner, key in
            switch key {
            case "traceId":
                if try scanner.peek() == .string {
                    if let traceIds {
                        // The last traceId wins, as the last value of any repeated key does.
                        let (recognized, text) = try scanner.readString { traceIds.counter(ofUTF8: $0) }
                        counter = recognized
                        response.traceId = text ?? ""
                    } else {
                        response.traceId = try scanner.readString()
                    }
                    sawTraceId = true
                } else {
                    try scanner.skipValue()
                }
            case "action": response.action = try scanner.peek() == .string ? try scanner.readRecurringString() : scanner.readOptionalString()
            case "messageId": try scanner.readScalarText(into: &response.texts, as: .messageId)
            case "success", "succes": response.success = try scanner.readLiberalBool()
            case "errorCode", "code": code = try scanner.readErrorCode() ?? code
            case "message": message = try scanner.readOptionalString() ?? message
            case "payload":
                guard try scanner.peek() == .objectStart else {
                    try scanner.skipValue()
                    return
                }
                try scanner.readObjectKeys { scanner, key in
                    switch key {
                    case "bfid": try scanner.readOptionalString(into: &response.texts, as: .bfid)
                    case "values": try scanner.readFieldValues(into: &response.texts)
                    case "timestamp":
                        if try scanner.peek() == .number {
                            let text = try scanner.readNumberText()
                            // A server's number never traps: out of range (1e19, NaN) is no timestamp.
                            response.timestamp = Int64(text) ?? Double(text).flatMap { Int64(exactly: $0.rounded(.down)) }
                        } else {
                            try scanner.skipValue()
                        }
                    case "errorCode", "code": code = try scanner.readErrorCode()
                    case "message", "errorMessage", "errMessage": message = try scanner.readOptionalString()
                    default: try scanner.skipValue()
                    }
                }
            default:
                try scanner.skipValue()
            }
        }
        try scanner.expectEnd()
        guard sawTraceId else { throw JSONScanner.SyntaxError(offset: 0, reason: "response has no traceId") }
        if !response.success || code != nil {
            if code != nil || message != nil {
                response.failure = Response.Failure(code: code, message: message)
            }
        }
        return response
    }

    /// Decodes a response message from a buffer's readable bytes.
    public static func decode(_ buffer: ByteBuffer) throws -> Response {
        try buffer.withUnsafeReadableBytes { try decode($0) }
    }
}

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

extension JSONScanner {
    mutating func readOptionalString() throws -> String? {
        if try peek() == .string { return try readString() }
        try skipValue()
        return nil
    }

    /// A string, or a number's text (some servers send ids as numbers).
    mutating func readScalarText() throws -> String? {
        switch try peek() {
        case .string: return try readString()
        case .number: return String(try readNumberText())
        default:
            try skipValue()
            return nil
        }
    }

    mutating func readLiberalBool() throws -> Bool {
        switch try peek() {
        case .bool: return try readBool()
        case .string: return try readString().lowercased() == "true"
        default:
            try skipValue()
            return false
        }
    }

    mutating func readErrorCode() throws -> ErrorCode? {
        switch try peek() {
        case .number:
            let text = try readNumberText()
            if let value = Int(text) { return ErrorCode(value) }
            if let value = Double(text), value == value.rounded(), abs(value) < 1e9 { return ErrorCode(Int(value)) }
            return nil
        case .string:
            return Int(try readString()).map { ErrorCode($0) }
        default:
            try skipValue()
            return nil
        }
    }

    /// Reads `[{"name": ..., "value": ...}, ...]`; a value that is a number is kept as its text.
    /// Appends a string's UTF-8 to `texts` as a `tag` entry (null for anything but a string).
    mutating func readOptionalString(into texts: inout ResponseTexts, as tag: ResponseTexts.Tag) throws {
        guard try peek() == .string else {
            try skipValue()
            return texts.append(tag, nil as UnsafeRawBufferPointer?)
        }
        try withStringBytes { texts.append(tag, $0) }
    }

    /// Appends a string's or a number's text to `texts` as a `tag` entry (null for anything
    /// else); whether it was a text.
    @discardableResult
    mutating func readScalarText(into texts: inout ResponseTexts, as tag: ResponseTexts.Tag) throws -> Bool {
        switch try peek() {
        case .string: try withStringBytes { texts.append(tag, $0) }
        case .number: texts.append(tag, String(try readNumberText()))
        default:
            try skipValue()
            texts.append(tag, nil as UnsafeRawBufferPointer?)
            return false
        }
        return true
    }

    /// Reads a values array into `texts`: each element's name and value, in order. Throws as
    /// ``readFieldValues()`` does for an element that is not an object or lacks either.
    mutating func readFieldValues(into texts: inout ResponseTexts) throws {
        texts.startValues(present: true)
        var count = 0
        try readArray { scanner in
            guard try scanner.peek() == .objectStart else {
                try scanner.skipValue()
                throw FieldValueShapeError(description: "values[\(count)] is not an object")
            }
            let start = texts.count
            // The usual element: a name, then a value, each once and a text: nothing to settle.
            var entries = 0
            var usual = true
            try scanner.readObjectKeys { scanner, key in
                switch key {
                case "name":
                    let text = try scanner.readScalarText(into: &texts, as: .name)
                    usual = usual && entries == 0 && text
                    entries += 1
                case "value":
                    let text = try scanner.readScalarText(into: &texts, as: .value)
                    usual = usual && entries == 1 && text
                    entries += 1
                default: try scanner.skipValue()
                }
            }
            if usual && entries == 2 {
                count += 1
                return
            }
            switch texts.settleElement(from: start) {
            case .complete: break
            case .noName: throw FieldValueShapeError(description: "values[\(count)] has no name")
            case .noValue: throw FieldValueShapeError(description: "values[\(count)] has no string value")
            }
            count += 1
        }
    }

    mutating func readFieldValues() throws -> [FieldValue] {
        var values: [FieldValue] = []
        values.reserveCapacity(4)
        try readArray { scanner in
            guard try scanner.peek() == .objectStart else {
                try scanner.skipValue()
                throw FieldValueShapeError(description: "values[\(values.count)] is not an object")
            }
            var name: String?
            var value: String?
            try scanner.readObjectKeys { scanner, key in
                switch key {
                case "name": name = try scanner.peek() == .string ? try scanner.readRecurringString() : scanner.readScalarText()
                case "value": value = try scanner.readScalarText()
                default: try scanner.skipValue()
                }
            }
            guard let name else { throw FieldValueShapeError(description: "values[\(values.count)] has no name") }
            guard let value else { throw FieldValueShapeError(description: "values[\(values.count)] has no string value") }
            values.append(FieldValue(name: name, value: value))
        }
        return values
    }
}
