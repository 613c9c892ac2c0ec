import Foundation
import NIOCore
import Testing

@testable import ShieldConex

/// Every sample message of the spec decodes, and requests encode field for field like the samples.
@Suite struct SpecSampleTests {
    static let bfid = "djE6MTIwMTkxMTIwMTIwMTMyMTAzMTYyNjc0OXwxYjIxNGU1MjQ4NDgxYjFlOTRmNjRhZTg5YWU0Njg3ZXx8"

    @Test func tokenizeResponsesDecode() throws {
        for name in ["tokenize-response-1", "tokenize-response-2"] {
            let response = try Response.decode(Fixture.buffer(name))
            #expect(response.traceId == "b12be111-51a3-4b2e-b0bd-f79cb30f6e49")
            #expect(response.action == "tokenization-tokenize")
            #expect(response.messageId == "1201911201201321031626749")
            #expect(response.success)
            #expect(response.bfid == Self.bfid)
            #expect(response.values == [FieldValue(name: "scx_token_card_number", value: "4444336487341111")])
            #expect(response.failure == nil)
        }
    }

    @Test(arguments: ["tokenize-failure-1", "tokenize-failure-2"])
    func tokenizeFailuresDecode(name: String) throws {
        let response = try Response.decode(Fixture.buffer(name))
        #expect(!response.success)
        #expect(response.failure == .init(code: .templateNotFound, message: "Template not found"))
        #expect(response.failure?.code?.name == "template not found")
        #expect(response.failure?.code?.isFatal == true)
    }

    @Test func heartbeatResponseDecodes() throws {
        let response = try Response.decode(Fixture.buffer("heartbeat-response"))
        #expect(response.traceId == "b12be111-51a3-4b2e-b0bd-f79cb30f6e48")
        #expect(response.messageId == "1202203181024092211390455")
        #expect(response.success)
        #expect(response.timestamp == 1_647_599_049_551)
    }

    @Test(arguments: [
        ("partner-validate-response", true), ("partner-validate-failure", false),
        ("template-validate-response", true), ("template-validate-failure", false),
    ])
    func validateAnswersWithoutPayloadDecode(name: String, success: Bool) throws {
        let response = try Response.decode(Fixture.buffer(name))
        #expect(response.success == success)
        #expect(response.bfid == nil && response.values == nil && response.failure == nil)
        #expect(response.messageId == "1201911201201321031626749")
    }

    @Test func readAnswersDecode() throws {
        let success = try Response.decode(Fixture.buffer("read-response"))
        #expect(success.success && success.bfid == Self.bfid)
        #expect(success.values?.first?.name == "scx_token_card_number")
        let failure = try Response.decode(Fixture.buffer("read-failure"))
        #expect(!failure.success)
        #expect(failure.failure == .init(code: .notFound, message: "Not found"))
    }

    @Test func detokenizeResponseWithMisspeltSuccessDecodes() throws {
        let text = try Fixture.text("detokenize-response")
        #expect(text.contains("\"succes\""))
        let response = try Response.decode(ByteBuffer(string: text))
        #expect(response.success)
        #expect(response.values == [FieldValue(name: "scx_token_card_number", value: "4444333322221111")])
    }

    /// Each sample request, decoded as the server sees it, gives back the properties it holds.
    @Test func requestsDecode() throws {
        let tokenize = try IncomingRequest.decode(Fixture.buffer("tokenize-request-2"))
        #expect(tokenize.traceId == "b12be111-51a3-4b2e-b0bd-f79cb30f6e47")
        #expect(
            tokenize.request
                == .tokenize(
                    templateRef: "152a4e3f7f31f0a746388adbae1b47f5",
                    values: [FieldValue(name: "scx_token_card_number", value: "4444333322221111")],
                    omit: false, store: true, reference: "myref"
                )
        )
        let first = try IncomingRequest.decode(Fixture.buffer("tokenize-request-1"))
        #expect(first.request?.store == nil)
        #expect(first.request?.templateRef == "8e1580b8-12ea-4804-acaa-f9c922d124e6")
        let heartbeat = try IncomingRequest.decode(Fixture.buffer("heartbeat-request"))
        #expect(heartbeat.request == .heartbeat())
        let read = try IncomingRequest.decode(Fixture.buffer("read-request"))
        #expect(read.request == .read(bfid: Self.bfid, reference: "my_ref"))
        let detokenize = try IncomingRequest.decode(Fixture.buffer("detokenize-request"))
        #expect(detokenize.request?.values?.count == 1)
        #expect(detokenize.request?.bfid == Self.bfid)
        for name in ["partner-validate-request", "template-validate-request"] {
            let incoming = try IncomingRequest.decode(Fixture.buffer(name))
            #expect(incoming.request?.reference == "myref")
            #expect(incoming.payloadProblem == nil)
        }
    }

    /// Requests built with the factory methods encode to the samples, field for field.
    @Test(arguments: [
        ("heartbeat-request", "b12be111-51a3-4b2e-b0bd-f79cb30f6e48", Request.heartbeat()),
        ("partner-validate-request", "b12be111-51a3-4b2e-b0bd-f79cb30f6e48", Request.partnerValidate(reference: "myref")),
        (
            "template-validate-request", "b12be111-51a3-4b2e-b0bd-f79cb30f6e47",
            Request.templateValidate(templateRef: "152a4e3f7f31f0a746388adbae1b47f5", reference: "myref")
        ),
        (
            "tokenize-request-1", "b12be111-51a3-4b2e-b0bd-f79cb30f6e49",
            Request(
                action: .tokenize, templateRef: "8e1580b8-12ea-4804-acaa-f9c922d124e6", omit: false, reference: "09420c55af7b",
                values: [FieldValue(name: "scx_token_card_number", value: "4444333322221111")]
            )
        ),
        (
            "tokenize-request-2", "b12be111-51a3-4b2e-b0bd-f79cb30f6e47",
            Request.tokenize(
                templateRef: "152a4e3f7f31f0a746388adbae1b47f5",
                values: [FieldValue(name: "scx_token_card_number", value: "4444333322221111")], omit: false, store: true,
                reference: "myref"
            )
        ),
        ("read-request", "b12be111-51a3-4b2e-b0bd-f79cb30f6e46", Request.read(bfid: bfid, reference: "my_ref")),
        (
            "detokenize-request", "b12be111-51a3-4b2e-b0bd-f79cb30f6e45",
            Request.detokenize(
                bfid: bfid, values: [FieldValue(name: "scx_token_card_number", value: "4444336487341111")], reference: "my_ref"
            )
        ),
    ])
    func requestsEncodeLikeTheSamples(name: String, traceId: String, request: Request) throws {
        try request.validate()
        var buffer = ByteBuffer()
        request.encode(traceId: traceId, into: &buffer)
        let encoded = try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as! NSDictionary
        #expect(encoded == (try Fixture.object(name)))
    }

    /// Responses encoded by the simulator's encoder decode back to the same value.
    @Test(arguments: [
        "tokenize-response-1", "tokenize-failure-1", "heartbeat-response", "partner-validate-response",
        "template-validate-failure", "read-response", "read-failure",
    ])
    func responsesRoundTrip(name: String) throws {
        let response = try Response.decode(Fixture.buffer(name))
        var buffer = ByteBuffer()
        response.encode(into: &buffer)
        #expect(try Response.decode(buffer) == response)
        let reencoded = try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as! NSDictionary
        #expect(reencoded == (try Fixture.object(name)))
    }
}
