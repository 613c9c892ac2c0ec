import Foundation
import NIOCore
import Testing

@testable import ShieldConex

@Suite struct MessageDecodingTests {
    func decode(_ text: String) throws -> Response { try Response.decode(ByteBuffer(string: text)) }

    /// Keys are matched as the bytes of the message, and still when written with escapes; a
    /// key that only starts like a known one is another key.
    @Test func keysMatchWithAndWithoutEscapes() throws {
        let response = try decode(
            #"{"trace\u0049d":"t","succ\u0065ss":true,"successful":false,"payload":{"\u0062fid":"b","values":[{"n\u0061me":"f","value":"v"}]},"traceIdX":"u"}"#
        )
        #expect(response.traceId == "t" && response.success && response.bfid == "b")
        #expect(response.values == [FieldValue(name: "f", value: "v")])
        #expect(try decode(#"{"traceI":"t","traceId":"r","success":true}"#).traceId == "r")
    }

    /// Names and the action decoded through a cache of recurring strings are the same text as
    /// without it, message after message, escaped or not, and more names than the cache holds.
    @Test func recurringNamesDecodeTheSame() throws {
        var recurring = RecurringStrings()
        for round in 0..<40 {
            let name = round % 2 == 0 ? "scx_token_card_number" : "field_\(round)"
            let text = #"{"traceId":"t","action":"tokenization-tokenize","success":true,"payload":{"bfid":"b","values":[{"name":"\#(name)","value":"v"},{"name":"n\u0061me","value":"w"},{"name":12,"value":"x"}]}}"#
            let cached = try Response.decode(ByteBuffer(string: text), recurring: &recurring)
            #expect(cached == (try decode(text)))
            #expect(cached.action == "tokenization-tokenize")
            #expect(cached.values?.map(\.name) == [name, "name", "12"])
        }
    }

    /// The texts are kept as bytes in the order the decoder meets them; what a response says
    /// is still the last of each repeated key, an element's name and value in either order, and
    /// two responses that say the same are equal whatever order their keys came in.
    @Test func textsKeptAsBytesSayWhatTheLastKeySaid() throws {
        let repeated = try decode(
            #"{"messageId":"m1","traceId":"t","payload":{"bfid":"b1","values":[{"name":"x","value":"1"}],"bfid":"b2","#
                + #""values":[{"value":"v1","name":"f1"},{"name":"dup","name":"f2","value":null,"value":"v2"},{"name":"f3","value":7}]},"#
                + #""success":true,"messageId":12345}"#
        )
        #expect(repeated.messageId == "12345" && repeated.bfid == "b2")
        #expect(repeated.values == [FieldValue(name: "f1", value: "v1"), FieldValue(name: "f2", value: "v2"), FieldValue(name: "f3", value: "7")])
        let plain = Response(
            traceId: "t", messageId: "12345", success: true, bfid: "b2",
            values: [FieldValue(name: "f1", value: "v1"), FieldValue(name: "f2", value: "v2"), FieldValue(name: "f3", value: "7")]
        )
        #expect(repeated == plain && repeated.hashValue == plain.hashValue)
        repeated.texts.withParts { parts in
            #expect(parts.valueCount == 3)
            #expect(parts.bfid.map { Array($0) } == Array("b2".utf8))
            var names: [String] = []
            parts.forEachValue { name, _ in names.append(String(decoding: name, as: UTF8.self)) }
            #expect(names == ["f1", "f2", "f3"])
        }
        // Null replaces: a bfid, a messageId and a values array can each be taken back.
        let nulled = try decode(#"{"traceId":"t","messageId":"m","messageId":null,"success":true,"payload":{"bfid":"b","bfid":null,"values":[]}}"#)
        #expect(nulled.messageId == nil && nulled.bfid == nil && nulled.values == [])
        var edited = nulled
        edited.bfid = "again"
        edited.values = nil
        #expect(edited.bfid == "again" && edited.values == nil && edited.messageId == nil)
        // Escaped texts are kept decoded.
        let escaped = try decode(#"{"traceId":"t","success":true,"payload":{"bfid":"a\"b\u00e9","values":[{"name":"n","value":"line\nbreak"}]}}"#)
        #expect(escaped.bfid == "a\"bé" && escaped.values?.first?.value == "line\nbreak")
        // An element without a name or a value still makes the message undecodable, as before.
        #expect(throws: (any Error).self) { try decode(#"{"traceId":"t","success":true,"payload":{"values":[{"value":"v"}]}}"#) }
        #expect(throws: (any Error).self) { try decode(#"{"traceId":"t","success":true,"payload":{"values":[{"name":"n","value":null}]}}"#) }
        // Encoded again, a decoded response says the same.
        var writer = JSONWriter()
        repeated.encode(into: &writer)
        #expect(try Response.decode(ByteBuffer(bytes: writer.bytes)) == repeated)
    }

    @Test func unknownKeysAreIgnoredAtEveryLevel() throws {
        let response = try decode(
            #"{"extra":{"deep":[1,2,{"x":null}]},"traceId":"t","success":true,"payload":{"bfid":"b","more":[true,false],"values":[{"name":"f","value":"v","kind":"x"}]},"tail":1.5e3}"#
        )
        #expect(response.traceId == "t" && response.success && response.bfid == "b")
        #expect(response.values == [FieldValue(name: "f", value: "v")])
    }

    /// Numbers out of any integer's range are an absent value, never a trap (a timestamp of
    /// 1e19 trapped in `Int64(Double)`: any frame could end a night's run).
    @Test(arguments: ["1e19", "-1e19", "1e308", "-0.5", "123456789012345678901234567890", "1.5", "9223372036854775807", "9.3e18"])
    func outOfRangeNumbersNeverTrap(number: String) throws {
        let response = try decode(#"{"traceId":"t","action":"heartbeat","success":true,"payload":{"timestamp":\#(number)}}"#)
        #expect(response.success)
        if let value = Int64(number) { #expect(response.timestamp == value) }
        let code = try decode(#"{"traceId":"t","success":false,"payload":{"errorCode":\#(number),"message":"m"}}"#)
        #expect(code.success == false)
    }

    @Test func unknownErrorCodeIsKept() throws {
        let response = try decode(#"{"traceId":"t","success":false,"payload":{"errorCode":7777,"message":"Something new"}}"#)
        #expect(response.failure?.code == ErrorCode(7777))
        #expect(response.failure?.code?.name == nil)
        #expect(response.failure?.message == "Something new")
    }

    @Test func errorCodeAsStringAndAtTopLevel() throws {
        let inPayload = try decode(#"{"traceId":"t","success":false,"payload":{"errorCode":"1403","message":"Detokenization period end violated"}}"#)
        #expect(inPayload.failure?.code == .detokenizationPeriodViolated)
        let topLevel = try decode(#"{"traceId":"t","success":false,"code":8001,"message":"Server error."}"#)
        #expect(topLevel.failure == .init(code: .serverError, message: "Server error."))
        #expect(topLevel.failure?.code?.isTransient == true)
    }

    @Test(arguments: [
        (1202, "template not found"), (1203, "not found"), (1403, "detokenization period violated"),
        (8001, "server error"), (8003, "authentication error"), (8004, "permission denied"),
    ])
    func knownCodesHaveNames(code: Int, name: String) {
        #expect(ErrorCode(code).name == name)
        #expect(ErrorCode(code).description == "\(code) (\(name))")
    }

    @Test func fatalAndTransientCodes() {
        #expect(ErrorCode.authenticationError.isFatal && ErrorCode.permissionDenied.isFatal && ErrorCode.templateNotFound.isFatal)
        #expect(!ErrorCode.notFound.isFatal && !ErrorCode.detokenizationPeriodViolated.isFatal)
        #expect(ErrorCode.serverError.isTransient && !ErrorCode.notFound.isTransient)
    }

    @Test func escapedStringsDecode() throws {
        let response = try decode(#"{"traceId":"a\"b\\c\/d\n\u00e9\ud83d\ude00","success":true}"#)
        #expect(response.traceId == "a\"b\\c/d\né😀")
    }

    @Test func numericMessageIdIsKeptAsText() throws {
        let response = try decode(#"{"traceId":"t","messageId":1201911201201321031626749,"success":true}"#)
        #expect(response.messageId == "1201911201201321031626749")
    }

    @Test(arguments: [
        "", "{", "[]", "{\"traceId\":}", "{\"traceId\":\"t\",}", "{\"traceId\":\"t\"} x", "{\"traceId\":\"unterminated}",
        "{\"traceId\":\"t\",\"success\":tru}", "{\"success\":true}", "{\"traceId\":\"\\ud800\"}", "{\"a\":01}",
        String(repeating: "[", count: 10_000),
    ])
    func malformedInputThrowsInsteadOfCrashing(text: String) {
        #expect(throws: (any Error).self) { try decode(text) }
    }

    @Test func randomBytesNeverCrashTheScanner() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array(#"{}[]":,\ tfnrue0123456789.-+Eabu"#.utf8)
        for _ in 0..<5_000 {
            let length = Int.random(in: 0..<64, using: &generator)
            let bytes = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }
            var buffer = ByteBuffer()
            buffer.writeBytes(bytes)
            _ = try? Response.decode(buffer)
            _ = try? IncomingRequest.decode(buffer)
        }
    }

    @Test func jsonStringEscapingRoundTrips() throws {
        let awkward = "quote\" backslash\\ newline\n tab\t bell\u{07} nul\u{00} é 😀"
        var buffer = ByteBuffer()
        buffer.writeJSONString(awkward)
        let parsed = try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView), options: .fragmentsAllowed) as? String
        #expect(parsed == awkward)
    }

    @Test func requestPayloadProblemsAreReported() throws {
        let incoming = try IncomingRequest.decode(ByteBuffer(string: #"{"traceId":"t","action":"tokenization-tokenize","payload":{"templateRef":5,"values":"x"}}"#))
        #expect(incoming.payloadProblem == "templateRef is not a string")
        let unknown = try IncomingRequest.decode(ByteBuffer(string: #"{"traceId":"t","action":"dance"}"#))
        #expect(unknown.request == nil && unknown.actionName == "dance")
    }

    @Test func callPayloadDecodes() throws {
        let request = try Request.decodePayload(action: .read, json: #"{"bfid":"\#(String(repeating: "a", count: 40))","reference":"r"}"#)
        #expect(request.bfid?.count == 40 && request.reference == "r")
        #expect(throws: (any Error).self) { try Request.decodePayload(action: .read, json: "{") }
    }
}

@Suite struct RequestValidationTests {
    let bfid = String(repeating: "b", count: 84)

    @Test func validRequestsPass() throws {
        try Request.heartbeat().validate()
        try Request.partnerValidate().validate()
        try Request.templateValidate(templateRef: "t").validate()
        try Request.tokenize(templateRef: "t", values: [FieldValue(name: "f", value: "v")]).validate()
        try Request.read(bfid: bfid).validate()
        try Request.detokenize(bfid: bfid, values: [FieldValue(name: "f", value: "v")]).validate()
    }

    /// Lengths are characters, not bytes, whichever way the check goes: 255 two-byte characters
    /// (510 bytes) pass, 256 do not; 30 characters of four bytes each make a bfid long enough.
    @Test func lengthsAreCountedInCharacters() throws {
        try Request.partnerValidate(reference: String(repeating: "é", count: 255)).validate()
        #expect(throws: ShieldConexError.invalidRequest(property: "reference", reason: "length 256 is outside 1-255")) {
            try Request.partnerValidate(reference: String(repeating: "é", count: 256)).validate()
        }
        try Request.read(bfid: String(repeating: "😀", count: 30)).validate()
        #expect(throws: ShieldConexError.invalidRequest(property: "bfid", reason: "length 29 is outside 30-150")) {
            try Request.read(bfid: String(repeating: "😀", count: 29)).validate()
        }
    }

    @Test(arguments: [
        (Request.partnerValidate(reference: ""), "reference length 0 is outside 1-255"),
        (Request.partnerValidate(reference: String(repeating: "r", count: 256)), "reference length 256 is outside 1-255"),
        (Request.templateValidate(templateRef: ""), "templateRef length 0 is outside 1-255"),
        (Request(action: .templateValidate), "templateRef is required for template-validate"),
        (Request.tokenize(templateRef: "t", values: []), "values must hold at least one {name, value} for tokenization-tokenize"),
        (Request.tokenize(templateRef: "t", values: [FieldValue(name: "", value: "v")]), "values[0].name must not be empty"),
        (Request.read(bfid: String(repeating: "b", count: 29)), "bfid length 29 is outside 30-150"),
        (Request.read(bfid: String(repeating: "b", count: 151)), "bfid length 151 is outside 30-150"),
        (Request(action: .detokenize, values: [FieldValue(name: "f", value: "v")]), "bfid is required for tokenization-detokenize"),
    ])
    func invalidRequestsAreRefusedWithAClearMessage(request: Request, message: String) {
        #expect(throws: ShieldConexError.invalidRequest(property: String(message.split(separator: " ")[0]), reason: String(message.split(separator: " ", maxSplits: 1)[1]))) {
            try request.validate()
        }
    }

    @Test func errorMessagesNeverContainValues() {
        let secret = "4000001234567899"
        let request = Request.tokenize(templateRef: "t", values: [FieldValue(name: "", value: secret)])
        do {
            try request.validate()
            Issue.record("expected an error")
        } catch {
            #expect(!"\(error)".contains(secret))
        }
        #expect(!FieldValue(name: "f", value: secret).description.contains(secret))
    }
}
