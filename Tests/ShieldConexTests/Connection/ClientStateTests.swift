import Foundation
import NIOCore
import Testing

@testable import ShieldConex

@Suite struct ClientStateTests {
    @Test func traceIdsAreGUIDShapedUniqueAndParseBack() {
        var generator = TraceIDGenerator()
        var seen = Set<String>()
        for expected in 1...1000 {
            let (id, traceId) = generator.next()
            #expect(id == UInt64(expected))
            #expect(traceId.count == 36)
            #expect(UUID(uuidString: traceId) != nil)
            #expect(generator.counter(of: traceId) == id)
            #expect(generator.counter(of: traceId.uppercased()) == id)
            seen.insert(traceId)
        }
        #expect(seen.count == 1000)
        let other = TraceIDGenerator()
        #expect(other.counter(of: generator.next().traceId) == nil)
        #expect(generator.counter(of: "nonsense") == nil)
    }

    @Test func traceIdsWrittenAsBytesAreTheSameTextAndMatchAsBytesInAnswers() throws {
        var generator = TraceIDGenerator()
        for _ in 0..<300 {
            let id = generator.nextCounter()
            var bytes: [UInt8] = [1, 2]
            generator.write(id, to: &bytes)
            #expect(Array(bytes.prefix(2)) == [1, 2])
            let text = String(decoding: bytes.dropFirst(2), as: UTF8.self)
            #expect(text == TraceIDGenerator.format(prefix: generator.prefix, counter: id))
            // A request written with the counter carries that text.
            var writer = JSONWriter()
            Request.heartbeat().encode(traceId: id, of: generator, into: &writer)
            #expect(String(decoding: writer.bytes, as: UTF8.self) == "{\"traceId\":\"\(text)\",\"action\":\"heartbeat\"}")

            // Its answer: the counter comes back, the traceId is not made a String.
            var recurring = RecurringStrings()
            var counter: UInt64?
            let answer = try Response.decode(
                ByteBuffer(string: "{\"traceId\":\"\(text)\",\"success\":true}"), recurring: &recurring, traceIds: generator, counter: &counter
            )
            #expect(counter == id && answer.traceId == "" && answer.success)
            // Escaped, upper-case or foreign: kept as text, no counter (the caller parses the text).
            let escaped = "\\u00" + String(text.utf8.first!, radix: 16) + text.dropFirst()
            counter = nil
            let unusual = try Response.decode(
                ByteBuffer(string: "{\"traceId\":\"\(escaped)\",\"success\":true}"), recurring: &recurring, traceIds: generator, counter: &counter
            )
            #expect(counter == nil && unusual.traceId == text && generator.counter(of: unusual.traceId) == id)
        }
        var recurring = RecurringStrings()
        var counter: UInt64?
        let foreign = try Response.decode(
            ByteBuffer(string: #"{"traceId":"not-ours","success":false}"#), recurring: &recurring, traceIds: generator, counter: &counter
        )
        #expect(counter == nil && foreign.traceId == "not-ours")
        #expect(throws: (any Error).self) {
            try Response.decode(ByteBuffer(string: #"{"traceId":"unterminated"#), recurring: &recurring, traceIds: generator, counter: &counter)
        }
    }

    /// Answers decoded one after another into one buffer taken back each time read as they do
    /// decoded alone, and the buffer's capacity is kept: no allocation per answer.
    @Test func answersDecodedIntoOneReusedBufferReadAsAlone() throws {
        let generator = TraceIDGenerator()
        let answers = [
            #"{"traceId":"a","messageId":"m1","success":true,"payload":{"bfid":"b1","values":[{"name":"card_number","value":"t1"},{"name":"card_cvv","value":"t2"}]}}"#,
            #"{"traceId":"b","success":false,"payload":{"errorCode":8001,"message":"slow down"}}"#,
            #"{"traceId":"c","messageId":"m3","success":true,"payload":{"bfid":"b3","values":[]}}"#,
            #"{"traceId":"d","messageId":null,"success":true,"payload":{"bfid":"a-much-longer-bfid-than-the-others-0123456789","values":[{"name":"n","value":"v"}]}}"#,
        ]
        var recurring = RecurringStrings()
        var spare = ResponseTexts()
        var capacity = 0
        for (index, text) in (answers + answers).enumerated() {
            var counter: UInt64?
            var reused = try Response.decode(ByteBuffer(string: text), recurring: &recurring, traceIds: generator, counter: &counter, reusing: &spare)
            let alone = try Response.decode(ByteBuffer(string: text))
            #expect(reused.messageId == alone.messageId && reused.bfid == alone.bfid && reused.values == alone.values)
            #expect(reused.success == alone.success && reused.failure == alone.failure)
            spare = reused.takeTexts()
            #expect(reused.values == nil && reused.bfid == nil, "taken out")
            let now = spare.log.capacity
            if index >= answers.count { #expect(now == capacity, "the second round allocates nothing") }
            capacity = max(capacity, now)
        }
    }

    @Test func inFlightTableExpiresAndDrains() {
        var table = InFlightTable<String>()
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        table.insert(1, deadline: start + .seconds(1), value: "a")
        table.insert(2, deadline: start + .seconds(3), value: "b")
        table.insert(3, deadline: start + .seconds(2), value: "c")
        #expect(table.count == 3 && table.peak == 3)
        #expect(table.remove(2) == "b")
        #expect(table.remove(2) == nil)
        let expired = table.removeExpired(now: start + .seconds(2))
        #expect(expired.map(\.value) == ["a", "c"])
        #expect(table.isEmpty && table.peak == 3)
        table.insert(9, deadline: start, value: "z")
        table.insert(4, deadline: start, value: "y")
        #expect(table.removeAll() == ["y", "z"])
    }

    /// Against a dictionary: ids mostly rising (as a connection gives them out), some far behind
    /// (a request waiting while thousands pass it), some repeated, answered in any order, expired.
    @Test func inFlightTableAgreesWithADictionary() {
        var random = SplitMix64(seed: 7)
        for capacity in [1, 4, 64] {
            var table = InFlightTable<Int>(capacity: capacity)
            var model: [UInt64: (deadline: Int, value: Int)] = [:]
            var next: UInt64 = 1
            var peak = 0
            let start = NIODeadline.uptimeNanoseconds(0)
            for step in 0..<20_000 {
                switch Int.random(in: 0..<10, using: &random) {
                case 0..<5:
                    let id = Int.random(in: 0..<20, using: &random) == 0 ? UInt64.random(in: 0..<next + 5, using: &random) : next
                    next = max(next, id + UInt64.random(in: 1...3, using: &random))
                    let deadline = Int.random(in: 0..<1000, using: &random)
                    table.insert(id, deadline: start + .nanoseconds(Int64(deadline)), value: step)
                    model[id] = (deadline, step)
                case 5..<9:
                    let id = UInt64.random(in: 0..<next + 2, using: &random)
                    #expect(table.remove(id) == model.removeValue(forKey: id)?.value)
                default:
                    let now = Int.random(in: 0..<300, using: &random)
                    let expired = table.removeExpired(now: start + .nanoseconds(Int64(now)))
                    let wanted = model.filter { $0.value.deadline <= now }.sorted { $0.key < $1.key }
                    #expect(expired.map(\.id) == wanted.map(\.key) && expired.map(\.value) == wanted.map(\.value.value))
                    for (id, _) in wanted { model.removeValue(forKey: id) }
                }
                peak = max(peak, model.count)
                #expect(table.count == model.count && table.isEmpty == model.isEmpty)
            }
            #expect(table.peak == peak)
            #expect(table.removeAll() == model.sorted { $0.key < $1.key }.map(\.value.value))
            #expect(table.isEmpty)
        }
    }

    @Test func maskingKeysVary() {
        var generator = MaskingKeyGenerator()
        let keys = (0..<100).map { _ in Array(generator.nextMaskingKey()) }
        #expect(Set(keys.map { $0.map(String.init).joined(separator: ".") }).count > 95)
    }

    @Test func maskingKeysComeFromABufferRefilledFourKiBAtATime() {
        var generator = MaskingKeyGenerator()
        var seen = Set<[UInt8]>()
        // Three refills: no key repeats across them (a stuck or reused buffer would).
        for _ in 0..<(3 * MaskingKeyGenerator.bufferSize / 4) { seen.insert(Array(generator.nextMaskingKey())) }
        #expect(seen.count > 3 * MaskingKeyGenerator.bufferSize / 4 - 8)
        #expect(generator.keysLeftInBuffer == 0)
        _ = generator.nextMaskingKey()
        #expect(generator.keysLeftInBuffer == MaskingKeyGenerator.bufferSize / 4 - 1)
    }

    @Test(arguments: [
        ("staging", "wss://secure-staging-ws.shieldconex.com", "secure-staging-ws.shieldconex.com", 443),
        ("cert", "wss://secure-cert-ws.shieldconex.com", "secure-cert-ws.shieldconex.com", 443),
        ("production", "wss://secure-ws.shieldconex.com", "secure-ws.shieldconex.com", 443),
        ("ws://127.0.0.1:8765", "ws://127.0.0.1:8765", "127.0.0.1", 8765),
        ("wss://example.test/path?x=1", "wss://example.test/path?x=1", "example.test", 443),
        ("ws://[::1]:9000", "ws://[::1]:9000", "::1", 9000),
    ])
    func endpointsParse(text: String, url: String, host: String, port: Int) throws {
        let endpoint = try Endpoint(text)
        #expect(endpoint.url == url)
        #expect(endpoint.host == host)
        #expect(endpoint.port == port)
    }

    @Test(arguments: ["http://example.test", "nonsense", "ws://", "wss://user:pw@example.test"])
    func badEndpointsAreRefused(text: String) {
        #expect(throws: ShieldConexError.self) { try Endpoint(text) }
    }
}

@Suite struct LuhnTests {
    @Test func checkDigitsAndValidation() {
        for index in 0..<500 {
            let number = TestPAN.make(index * 104_729)
            #expect(number.count == 16 && Luhn.isValid(number))
            var digits = Array(number)
            digits[15] = Character(String((Int(String(digits[15]))! + 1) % 10))
            #expect(!Luhn.isValid(String(digits)))
        }
        #expect(!Luhn.isValid("4444333322221112"))
        #expect(Luhn.isValid("79927398713"))
        #expect(!Luhn.isValid("") && !Luhn.isValid("4000 0000"))
    }
}
