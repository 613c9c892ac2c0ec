import NIOCore

extension Request {
    /// Writes this request as one JSON message with the given `traceId`.
    ///
    /// Properties are written in the order of the spec's samples; `nil` properties are left out,
    /// and `heartbeat` carries no payload (as in the spec's sample).
    public func encode(traceId: String, into writer: inout JSONWriter) {
        writer.raw("{\"traceId\":")
        writer.string(traceId)
        encodeAfterTraceId(into: &writer)
    }

    /// Writes this request with the traceId that carries `counter` in `traceIds`, written as bytes
    /// straight into the message (the client's hot path: no `String` per traceId).
    public func encode(traceId counter: UInt64, of traceIds: TraceIDGenerator, into writer: inout JSONWriter) {
        writer.raw("{\"traceId\":\"")
        traceIds.write(counter, to: &writer.bytes)
        writer.byte(UInt8(ascii: "\""))
        encodeAfterTraceId(into: &writer)
    }

    func encodeAfterTraceId(into writer: inout JSONWriter) {
        writer.raw(",\"action\":\"")
        writer.bytes.append(contentsOf: action.rawValue.utf8)
        writer.byte(UInt8(ascii: "\""))
        if action != .heartbeat {
            writer.raw(",\"payload\":")
            encodePayload(into: &writer)
        }
        writer.byte(UInt8(ascii: "}"))
    }

    /// Writes this request into a buffer (see ``encode(traceId:into:)-(_,JSONWriter)``).
    public func encode(traceId: String, into buffer: inout ByteBuffer) {
        var writer = JSONWriter()
        encode(traceId: traceId, into: &writer)
        buffer.writeBytes(writer.bytes)
    }

    /// Writes the `payload` object alone.
    public func encodePayload(into writer: inout JSONWriter) {
        // `first` passed along, not captured by a nested function: a captured variable is
        // checked for exclusive access at run time on every use.
        var first = true
        writer.byte(UInt8(ascii: "{"))
        if action == .tokenize {
            if let templateRef { writer.member("templateRef", first: &first); writer.string(templateRef) }
            if let omit { writer.member("omit", first: &first); writer.bool(omit) }
            if let store { writer.member("store", first: &first); writer.bool(store) }
            if let reference { writer.member("reference", first: &first); writer.string(reference) }
        } else {
            if let reference { writer.member("reference", first: &first); writer.string(reference) }
            if let templateRef { writer.member("templateRef", first: &first); writer.string(templateRef) }
            if let omit { writer.member("omit", first: &first); writer.bool(omit) }
            if let store { writer.member("store", first: &first); writer.bool(store) }
        }
        if let bfid { writer.member("bfid", first: &first); writer.string(bfid) }
        if let values { writer.member("values", first: &first); writer.values(values) }
        writer.byte(UInt8(ascii: "}"))
    }
}

extension Response {
    /// Writes this response as one JSON message in the spec's shape (`success`, spelt correctly).
    public func encode(into writer: inout JSONWriter) {
        // The texts are written from their bytes: no `String` made for them.
        texts.withParts { parts in
            writer.raw("{\"traceId\":")
            writer.string(traceId)
            if let action {
                writer.raw(",\"action\":")
                writer.string(action)
            }
            if let messageId = parts.messageId {
                writer.raw(",\"messageId\":")
                writer.string(utf8: messageId)
            }
            writer.raw(",\"success\":")
            writer.bool(success)
            let hasPayload = parts.bfid != nil || parts.valueCount != nil || timestamp != nil || failure?.code != nil || failure?.message != nil
            guard hasPayload else {
                writer.byte(UInt8(ascii: "}"))
                return
            }
            writer.raw(",\"payload\":{")
            var first = true
            func separator(_ writer: inout JSONWriter) {
                if first { first = false } else { writer.byte(UInt8(ascii: ",")) }
            }
            if let timestamp { separator(&writer); writer.key("timestamp"); writer.integer(timestamp) }
            if let bfid = parts.bfid { separator(&writer); writer.key("bfid"); writer.string(utf8: bfid) }
            if parts.valueCount != nil {
                separator(&writer)
                writer.key("values")
                writer.byte(UInt8(ascii: "["))
                var index = 0
                parts.forEachValue { name, value in
                    if index > 0 { writer.byte(UInt8(ascii: ",")) }
                    writer.raw("{\"name\":")
                    writer.string(utf8: name)
                    writer.raw(",\"value\":")
                    writer.string(utf8: value)
                    writer.byte(UInt8(ascii: "}"))
                    index += 1
                }
                writer.byte(UInt8(ascii: "]"))
            }
            if let code = failure?.code { separator(&writer); writer.key("errorCode"); writer.integer(code.rawValue) }
            if let message = failure?.message { separator(&writer); writer.key("message"); writer.string(message) }
            writer.raw("}}")
        }
    }

    /// Writes this response into a buffer.
    public func encode(into buffer: inout ByteBuffer) {
        var writer = JSONWriter()
        encode(into: &writer)
        buffer.writeBytes(writer.bytes)
    }
}
