import Foundation
import Testing

@testable import ShieldConex

/// An answer read by a learned ``ResponseShape`` is the answer the general decoder reads, or it
/// is not read by the shape at all (and the general decoder reads it).
@Suite struct ResponseShapeTests {
    /// A tokenize answer as the simulator writes it, to a request with this traceId.
    static func answer(traceId: String, messageId: String = "1202612041619088720000000003", bfid: String = "djE6MTIwMjYxMjA0fHx8", values: [String] = ["tok-1", "12/28", "999"]) -> [UInt8] {
        let names = ["card_number", "card_exp", "card_cvv"]
        let response = Response(
            traceId: traceId, action: "tokenize", messageId: messageId, success: true, bfid: bfid,
            values: zip(names, values).map { FieldValue(name: $0, value: $1) }
        )
        var writer = JSONWriter()
        response.encode(into: &writer)
        return writer.bytes
    }

    /// What the general decoder reads: the response, its texts as written, the traceId's counter.
    static func general(_ message: [UInt8], _ traceIds: TraceIDGenerator) -> (Response, [UInt8], UInt64?)? {
        var counter: UInt64?
        var recurring: RecurringStrings? = RecurringStrings()
        let response = message.withUnsafeBytes { try? Response.decode($0, recurring: &recurring, traceIds: traceIds, counter: &counter) }
        return response.map { ($0, $0.texts.log, counter) }
    }

    static func shaped(_ shape: ResponseShape, _ message: [UInt8], _ traceIds: TraceIDGenerator) -> (Response, [UInt8], UInt64)? {
        var spare = ResponseTexts()
        let matched = message.withUnsafeBytes { shape.match($0, traceIds: traceIds, reusing: &spare) }
        return matched.map { ($0.response, $0.response.texts.log, $0.counter) }
    }

    @Test func answersOfTheLearnedLayoutAreReadAsTheGeneralDecoderReadsThem() throws {
        var traceIds = TraceIDGenerator()
        let first = Self.answer(traceId: traceIds.next().traceId)
        let shape = try #require(first.withUnsafeBytes { ResponseShape.learn(from: $0, traceIds: traceIds) })
        let variants: [(messageId: String, bfid: String, values: [String])] = [
            ("1", "b", ["t", "0128", "1"]),
            ("", "", ["", "", ""]),
            ("1202612041619088720000000004", String(repeating: "Q", count: 300), ["李 Jones é", "x", "\u{7F}"]),
        ]
        for variant in variants {
            let next = traceIds.next()
            let message = Self.answer(traceId: next.traceId, messageId: variant.messageId, bfid: variant.bfid, values: variant.values)
            let (response, log, counter) = try #require(Self.shaped(shape, message, traceIds))
            let general = try #require(Self.general(message, traceIds))
            #expect(response == general.0)
            #expect(log == general.1)
            #expect(counter == general.2)
            #expect(counter == next.id)
            #expect(response.bfid == variant.bfid)
            #expect(response.values?.map(\.value) == variant.values)
        }
    }

    @Test func otherLayoutsAndTextsAreLeftToTheGeneralDecoder() throws {
        var traceIds = TraceIDGenerator()
        let learnedFrom = Self.answer(traceId: traceIds.next().traceId)
        let shape = try #require(learnedFrom.withUnsafeBytes { ResponseShape.learn(from: $0, traceIds: traceIds) })
        let traceId = traceIds.next().traceId
        let usual = String(decoding: Self.answer(traceId: traceId), as: UTF8.self)
        var another = TraceIDGenerator()
        let others = [
            Self.answer(traceId: traceId, bfid: "with\"quote"),  // escaped: \"
            Self.answer(traceId: traceId, values: ["a/b", "tab\there", "x"]),
            Self.answer(traceId: "not-one-of-ours"),
            Self.answer(traceId: another.next().traceId),  // another generator's
            Array(usual.replacingOccurrences(of: "\"success\":true", with: "\"success\":false").utf8),
            Array(usual.replacingOccurrences(of: "\"card_exp\"", with: "\"card_exq\"").utf8),
            Array(usual.replacingOccurrences(of: ",\"", with: ", \"").utf8),
            Array(usual.replacingOccurrences(of: "}}", with: "},\"timestamp\":1}}").utf8),
            Array((usual + " ").utf8),
            Array(usual.dropLast().utf8),
        ]
        for message in others {
            #expect(Self.shaped(shape, message, traceIds) == nil, "\(String(decoding: message, as: UTF8.self))")
        }
    }

    @Test func onlyTheUsualSuccessLayoutIsLearned() {
        var traceIds = TraceIDGenerator()
        let traceId = traceIds.next().traceId
        let usual = String(decoding: Self.answer(traceId: traceId), as: UTF8.self)
        #expect(Array(usual.utf8).withUnsafeBytes { ResponseShape.learn(from: $0, traceIds: traceIds) } != nil)
        let unlearnable = [
            usual.replacingOccurrences(of: "\"success\":true", with: "\"success\":false"),
            usual.replacingOccurrences(of: "\"success\":true", with: "\"succes\":true"),
            usual.replacingOccurrences(of: "\"payload\":{", with: "\"payload\":{\"timestamp\":1,"),
            usual.replacingOccurrences(of: "\"payload\":{", with: "\"payload\":{\"bfid\":\"x\","),  // a repeated key
            usual.replacingOccurrences(of: "\"action\":", with: "\"extra\":null,\"action\":"),
            usual.replacingOccurrences(of: "{\"name\":\"card_cvv\",\"value\":\"999\"}", with: "{\"value\":\"999\",\"name\":\"card_cvv\"}"),
            usual.replacingOccurrences(of: "\"value\":\"999\"", with: "\"value\":999"),
            usual.replacingOccurrences(of: "\"value\":\"999\"", with: "\"value\":\"9\\u00399\""),
            usual.replacingOccurrences(of: traceId, with: "someone-else's"),
            "{\"traceId\":\"\(traceId)\",\"success\":false,\"payload\":{\"errorCode\":8001,\"message\":\"busy\"}}",
        ]
        for text in unlearnable {
            #expect(Array(text.utf8).withUnsafeBytes { ResponseShape.learn(from: $0, traceIds: traceIds) } == nil, "\(text)")
        }
    }

    /// Bytes changed, inserted or removed at random in a learned answer: whatever the shape reads,
    /// the general decoder reads the same.
    @Test func mutatedAnswersAreReadAsTheGeneralDecoderReadsThemOrNotAtAll() throws {
        var traceIds = TraceIDGenerator()
        let learnedFrom = Self.answer(traceId: traceIds.next().traceId)
        let shape = try #require(learnedFrom.withUnsafeBytes { ResponseShape.learn(from: $0, traceIds: traceIds) })
        let base = Self.answer(traceId: traceIds.next().traceId, messageId: "77", bfid: "bfid", values: ["a", "b", "c"])
        let bytes: [UInt8] = Array("\"\\,:{}[] 0a-\u{1}".utf8) + [0xFF, 0xC3]
        var random = SplitMix64(seed: 13)
        var read = 0
        for _ in 0..<20_000 {
            var message = base
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let at = Int.random(in: 0..<message.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: message[at] = bytes.randomElement(using: &random)!
                case 1: message.insert(bytes.randomElement(using: &random)!, at: at)
                default: message.remove(at: at)
                }
            }
            guard let (response, log, counter) = Self.shaped(shape, message, traceIds) else { continue }
            read += 1
            let general = try #require(Self.general(message, traceIds), "\(String(decoding: message, as: UTF8.self))")
            #expect(response == general.0)
            #expect(log == general.1)
            #expect(counter == general.2)
        }
        // Changes inside the texts keep the layout: some mutants are read by the shape.
        #expect(read > 100)
    }
}
