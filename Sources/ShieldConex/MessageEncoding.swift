import NIOCore

extension Request {
    /// Writes this request as one JSON message with the given `traceId`.
    ///
    /// Properties are written in the order of the spec's samples; `nil` properties are left out,
    /// and `heartbeat` carries no payload (as in the spec's sample).
    public func encode(traceId: String, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("{\"traceId\":")
        buffer.writeJSONString(traceId)
        buffer.writeStaticString(",\"action\":\"")
        buffer.writeString(action.rawValue)
        buffer.writeInteger(UInt8(ascii: "\""))
        if action != .heartbeat {
            buffer.writeStaticString(",\"payload\":")
            encodePayload(into: &buffer)
        }
        buffer.writeInteger(UInt8(ascii: "}"))
    }

    /// Writes the `payload` object alone.
    public func encodePayload(into buffer: inout ByteBuffer) {
        var first = true
        func separator(_ buffer: inout ByteBuffer) {
            if first { first = false } else { buffer.writeInteger(UInt8(ascii: ",")) }
        }
        buffer.writeInteger(UInt8(ascii: "{"))
        if action == .tokenize {
            if let templateRef { separator(&buffer); buffer.writeJSONKey("templateRef"); buffer.writeJSONString(templateRef) }
            if let omit { separator(&buffer); buffer.writeJSONKey("omit"); buffer.writeJSONBool(omit) }
            if let store { separator(&buffer); buffer.writeJSONKey("store"); buffer.writeJSONBool(store) }
            if let reference { separator(&buffer); buffer.writeJSONKey("reference"); buffer.writeJSONString(reference) }
        } else {
            if let reference { separator(&buffer); buffer.writeJSONKey("reference"); buffer.writeJSONString(reference) }
            if let templateRef { separator(&buffer); buffer.writeJSONKey("templateRef"); buffer.writeJSONString(templateRef) }
            if let omit { separator(&buffer); buffer.writeJSONKey("omit"); buffer.writeJSONBool(omit) }
            if let store { separator(&buffer); buffer.writeJSONKey("store"); buffer.writeJSONBool(store) }
        }
        if let bfid { separator(&buffer); buffer.writeJSONKey("bfid"); buffer.writeJSONString(bfid) }
        if let values { separator(&buffer); buffer.writeJSONKey("values"); buffer.writeJSONValues(values) }
        buffer.writeInteger(UInt8(ascii: "}"))
    }
}

extension Response {
    /// Writes this response as one JSON message in the spec's shape (`success`, spelt correctly).
    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("{\"traceId\":")
        buffer.writeJSONString(traceId)
        if let action {
            buffer.writeStaticString(",\"action\":")
            buffer.writeJSONString(action)
        }
        if let messageId {
            buffer.writeStaticString(",\"messageId\":")
            buffer.writeJSONString(messageId)
        }
        buffer.writeStaticString(",\"success\":")
        buffer.writeJSONBool(success)
        let hasPayload = bfid != nil || values != nil || timestamp != nil || failure?.code != nil || failure?.message != nil
        guard hasPayload else {
            buffer.writeInteger(UInt8(ascii: "}"))
            return
        }
        buffer.writeStaticString(",\"payload\":{")
        var first = true
        func separator(_ buffer: inout ByteBuffer) {
            if first { first = false } else { buffer.writeInteger(UInt8(ascii: ",")) }
        }
        if let timestamp { separator(&buffer); buffer.writeJSONKey("timestamp"); buffer.writeJSONInteger(timestamp) }
        if let bfid { separator(&buffer); buffer.writeJSONKey("bfid"); buffer.writeJSONString(bfid) }
        if let values { separator(&buffer); buffer.writeJSONKey("values"); buffer.writeJSONValues(values) }
        if let code = failure?.code { separator(&buffer); buffer.writeJSONKey("errorCode"); buffer.writeJSONInteger(code.rawValue) }
        if let message = failure?.message { separator(&buffer); buffer.writeJSONKey("message"); buffer.writeJSONString(message) }
        buffer.writeStaticString("}}")
    }
}
