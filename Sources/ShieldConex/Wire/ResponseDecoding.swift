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
