import Foundation
import NIOCore
import ShieldConex
import Testing

@testable import Simulator

/// The engine alone, for the messages the real client can never send.
@Suite struct SimulatorEngineTests {
    let engine: SimulatorEngine = {
        var configuration = SimulatorConfiguration()
        configuration.keys = ["k"]
        return SimulatorEngine(configuration: configuration)
    }()

    func respond(_ text: String) -> Response {
        engine.respond(to: ByteBuffer(string: text), key: "k", faultRoll: 0.5)
    }

    @Test(arguments: [
        ("not json", ErrorCode.malformedMessage, ""),
        ("[1,2]", .malformedMessage, ""),
        (#"{"action":"heartbeat"}"#, .missingTraceId, ""),
        (#"{"traceId":7,"action":"heartbeat"}"#, .missingTraceId, ""),
        (#"{"traceId":"t1","action":"dance"}"#, .unknownAction, "t1"),
        (#"{"traceId":"t2"}"#, .unknownAction, "t2"),
        (#"{"traceId":"t3","action":"tokenization-tokenize","payload":{"values":[{"name":"card_number","value":"1"}]}}"#, .invalidPayload, "t3"),
        (#"{"traceId":"t4","action":"tokenization-read","payload":{"bfid":"short"}}"#, .invalidPayload, "t4"),
        (#"{"traceId":"t5","action":"tokenization-tokenize","payload":"x"}"#, .invalidPayload, "t5"),
        (#"{"traceId":"t6","action":"tokenization-tokenize","payload":{"templateRef":"438ac8afecdd8035a21c126ee1fe6c19","values":[{"name":"nope","value":"1"}]}}"#, .unknownField, "t6"),
    ])
    func brokenRequestsGetADocumentedError(text: String, code: ErrorCode, traceId: String) throws {
        let response = respond(text)
        #expect(!response.success)
        #expect(response.traceId == traceId)
        #expect(response.failure?.code == code)
        #expect(response.failure?.message?.isEmpty == false)
        #expect(response.messageId?.count == 25)
    }

    @Test func answersEchoTraceIdAndActionWithA25DigitMessageId() {
        let response = respond(#"{"traceId":"abc","action":"partner-validate","payload":{"reference":"r"}}"#)
        #expect(response.success && response.traceId == "abc" && response.action == "partner-validate")
        #expect(response.messageId?.count == 25 && response.messageId?.allSatisfy { $0.isNumber } == true)
        #expect(response.bfid == nil && response.values == nil && response.failure == nil)
    }

    @Test func heartbeatWithoutPayloadIsAccepted() {
        let now = Date()
        let response = engine.respond(to: ByteBuffer(string: #"{"traceId":"h","action":"heartbeat"}"#), key: "k", faultRoll: 0.5, now: now)
        #expect(response.timestamp == Int64((now.timeIntervalSince1970 * 1000).rounded(.down)))
    }

    @Test func acceptedKeysNeedBasicScheme() {
        #expect(engine.acceptedKey(authorization: "Basic k") == "k")
        #expect(engine.acceptedKey(authorization: "basic  k") == "k")
        #expect(engine.acceptedKey(authorization: "Bearer k") == nil)
        #expect(engine.acceptedKey(authorization: "Basic other") == nil)
        #expect(engine.acceptedKey(authorization: nil) == nil)
    }

    @Test func statisticsCountActionsAndErrors() {
        _ = respond(#"{"traceId":"a","action":"partner-validate"}"#)
        _ = respond(#"{"traceId":"b","action":"tokenization-read","payload":{"bfid":"\#(String(repeating: "x", count: 40))"}}"#)
        let statistics = engine.statistics
        #expect(statistics.requestsByAction["partner-validate"] == 1)
        #expect(statistics.errorsByCode[1203] == 1)
        #expect(statistics.description.contains("tokenization-read: 1"))
    }
}
