import Foundation
import NIOCore
import Simulator
import Testing

@testable import ShieldConex

/// The real client against the real simulator over loopback.
@Suite struct LoopbackIntegrationTests {
    static let sampleTemplate = "438ac8afecdd8035a21c126ee1fe6c19"
    static let cardTemplate = "152a4e3f7f31f0a746388adbae1b47f5"

    static func cardValues(_ index: Int) -> [FieldValue] {
        [
            FieldValue(name: "card_number", value: TestPAN.make(index)),
            FieldValue(name: "card_exp", value: String(format: "%02d%02d", index % 12 + 1, 27 + index % 5)),
            FieldValue(name: "card_cvv", value: String(format: "%03d", index % 1000)),
        ]
    }

    @Test func everyActionWorks() async throws {
        let harness = try await LoopbackHarness.start()
        let client = try await harness.connect()

        let before = Int64(Date().timeIntervalSince1970 * 1000)
        let heartbeat = try await client.send(.heartbeat())
        #expect(heartbeat.success && heartbeat.action == "heartbeat")
        #expect(try #require(heartbeat.timestamp) >= before - 1000)
        #expect(heartbeat.messageId?.count == 25)

        #expect(try await client.send(.partnerValidate(reference: "ref")).success)
        #expect(try await client.send(.templateValidate(templateRef: Self.sampleTemplate)).success)
        let unknownTemplate = try await client.send(.templateValidate(templateRef: "no-such-template"))
        #expect(!unknownTemplate.success && unknownTemplate.failure == nil)

        let values = Self.cardValues(1)
        let tokenized = try await client.send(.tokenize(templateRef: Self.sampleTemplate, values: values, store: true, reference: "job-1:0"))
        #expect(tokenized.success)
        let bfid = try #require(tokenized.bfid)
        let tokens = try #require(tokenized.values)
        #expect(tokens.map(\.name) == values.map(\.name))
        for (token, value) in zip(tokens, values) { #expect(token.value != value.value) }
        #expect(tokens[0].value.prefix(6) == values[0].value.prefix(6))

        // The same value gives the same tokens and a new bfid.
        let again = try await client.send(.tokenize(templateRef: Self.sampleTemplate, values: values))
        #expect(again.values == tokens && again.bfid != bfid)

        let read = try await client.send(.read(bfid: bfid))
        #expect(read.success && read.bfid == bfid && read.values == tokens)
        let secondRead = try await client.send(.read(bfid: bfid))
        #expect(secondRead.failure?.code == .notFound && secondRead.failure?.message == "Not found")
        // Not stored: not readable.
        #expect(try await client.send(.read(bfid: again.bfid!)).failure?.code == .notFound)

        let detokenized = try await client.send(.detokenize(bfid: bfid, values: tokens))
        #expect(detokenized.success && detokenized.values == values)

        let omitted = try await client.send(.tokenize(templateRef: Self.sampleTemplate, values: values, omit: true, store: true))
        #expect(omitted.success && omitted.values == nil && omitted.bfid != nil)
        #expect(try await client.send(.read(bfid: omitted.bfid!)).values == tokens)

        await client.close()
        #expect(!client.isActive)
        let statistics = harness.server.statistics
        #expect(statistics.requestsByAction["tokenization-tokenize"] == 3)
        #expect(statistics.requestsByAction["tokenization-read"] == 4)
        await harness.stop()
    }

    @Test func theSpecsSampleCardIsTokenizedThoughItFailsLuhn() async throws {
        let harness = try await LoopbackHarness.start()
        let client = try await harness.connect()
        #expect(!TestPAN.isLuhnValid("4444333322221112"))
        let response = try await client.send(
            .tokenize(templateRef: Self.sampleTemplate, values: [FieldValue(name: "card_number", value: "4444333322221112")])
        )
        #expect(response.success)
        await client.close()
        await harness.stop()
    }

    @Test func errorCodesComeBackAsAnswersAndTheConnectionStaysUp() async throws {
        let harness = try await LoopbackHarness.start()
        let client = try await harness.connect()
        let pan = [FieldValue(name: "scx_token_card_number", value: TestPAN.make(5))]

        let noTemplate = try await client.send(.tokenize(templateRef: "no-such-template", values: pan))
        #expect(noTemplate.failure == .init(code: .templateNotFound, message: "Template not found"))

        let notFound = try await client.send(.read(bfid: String(repeating: "A", count: 40)))
        #expect(notFound.failure == .init(code: .notFound, message: "Not found"))

        let early = try await client.send(.tokenize(templateRef: "timeboxed-not-yet", values: pan))
        let tooEarly = try await client.send(.detokenize(bfid: early.bfid!, values: early.values!))
        #expect(tooEarly.failure == .init(code: .detokenizationPeriodViolated, message: "Detokenization period start violated"))

        let expired = try await client.send(.tokenize(templateRef: "timeboxed-expired", values: pan))
        let tooLate = try await client.send(.detokenize(bfid: expired.bfid!, values: expired.values!))
        #expect(tooLate.failure == .init(code: .detokenizationPeriodViolated, message: "Detokenization period end violated"))

        let oneWay = try await client.send(.tokenize(templateRef: "irreversible-card", values: pan))
        #expect(oneWay.success)
        #expect(try await client.send(.detokenize(bfid: oneWay.bfid!, values: oneWay.values!)).failure?.code == .irreversibleTemplate)

        let denied = try await client.send(.tokenize(templateRef: "restricted-card", values: pan))
        #expect(denied.failure == .init(code: .permissionDenied, message: "Permission denied"))
        #expect(denied.failure?.code?.isFatal == true)

        let unknownField = try await client.send(.tokenize(templateRef: Self.cardTemplate, values: [FieldValue(name: "shoe_size", value: "9")]))
        #expect(unknownField.failure?.code == .unknownField)
        let badValue = try await client.send(.tokenize(templateRef: Self.cardTemplate, values: [FieldValue(name: "scx_token_card_number", value: "12-34")]))
        #expect(badValue.failure?.code == .invalidValue)
        let message = badValue.failure?.message ?? ""
        #expect(!message.contains("12-34"))

        #expect(try await client.send(.heartbeat()).success)
        await client.close()

        // The restricted template works for its own key.
        let allowed = try await harness.connect(key: "restricted-demo-key")
        #expect(try await allowed.send(.tokenize(templateRef: "restricted-card", values: pan)).success)
        await allowed.close()
        await harness.stop()
    }

    @Test func serverErrorsAndRateLimitAreInjected() async throws {
        let failing = try await LoopbackHarness.start { $0.errorRate = 1 }
        let client = try await failing.connect()
        let response = try await client.send(.partnerValidate())
        #expect(response.failure == .init(code: .serverError, message: "Server error."))
        #expect(response.failure?.code?.isTransient == true)
        #expect(try await client.send(.heartbeat()).success, "heartbeats are not failed on purpose")
        await client.close()
        await failing.stop()

        let limited = try await LoopbackHarness.start { $0.rateLimit = 5 }
        let limitedClient = try await limited.connect()
        let answers = try await limitedClient.send(Array(repeating: Request.partnerValidate(), count: 40)).asyncMap { try await $0.get() }
        let throttled = answers.filter { $0.failure?.code == .rateLimited }.count
        #expect(throttled >= 30 && throttled <= 35)
        await limitedClient.close()
        await limited.stop()
    }

    @Test func aRefusedKeyIsAnAuthenticationError() async throws {
        let harness = try await LoopbackHarness.start()
        await #expect(throws: ShieldConexError.authenticationFailed(status: 401, message: "8003 Authentication Error")) {
            _ = try await harness.connect(key: "d3Jvbmc6a2V5")
        }
        #expect(harness.server.statistics.handshakesRefused == 1)
        await harness.stop()
    }

    @Test func tooManyConnectionsAreRefusedAtTheHandshake() async throws {
        let harness = try await LoopbackHarness.start { $0.maxConnections = 1 }
        let first = try await harness.connect()
        let refusal = ShieldConexError.handshakeRefused(status: 503, reason: "Service Unavailable", retryAfter: .seconds(1))
        await #expect(throws: refusal) {
            _ = try await harness.connect()
        }
        #expect(refusal.isRetryable && refusal.isTransientRefusal)
        #expect(refusal.description == "handshake refused: HTTP 503 Service Unavailable (the server asks to retry after 1 s)")
        await first.close()
        await harness.stop()
    }

    @Test func tlsWithATestCA() async throws {
        let certificates = try TestCertificates.generate()
        defer { certificates.remove() }
        let harness = try await LoopbackHarness.start { $0.tls = (certificates.certificateFile, certificates.keyFile) }
        #expect(harness.server.url.hasPrefix("wss://"))
        for host in ["localhost", "127.0.0.1"] {
            let endpoint = try Endpoint("wss://\(host):\(harness.server.port)")
            var configuration = ConnectionConfiguration()
            configuration.extraCAFile = certificates.caFile
            let client = try await ShieldConexConnection.connect(to: endpoint, key: APIKey(LoopbackHarness.key), configuration: configuration)
            #expect(try await client.send(.partnerValidate()).success)
            await client.close()
        }
        // Without the test CA, verification fails: it is never switched off, and the error says
        // so in words and names the fix.
        let error = await #expect(throws: ShieldConexError.self) {
            _ = try await ShieldConexConnection.connect(
                to: try Endpoint("wss://localhost:\(harness.server.port)"), key: APIKey(LoopbackHarness.key)
            )
        }
        #expect(error?.description.contains("certificate could not be verified") == true, "\(String(describing: error))")
        // In words: the command line adds which of its options does it (CommandLineHints).
        #expect(error?.description.contains("trust its certificate") == true)
        #expect(error?.description.contains("--") == false, "the ShieldConex module names no command-line flag")
        await harness.stop()
    }

    @Test func aDroppedConnectionFailsEveryInFlightRequestWithARetryableError() async throws {
        let harness = try await LoopbackHarness.start {
            $0.dropAfter = 10
            $0.latency = .milliseconds(50)
        }
        let client = try await harness.connect()
        let futures = client.send((0..<30).map { Request.tokenize(templateRef: Self.sampleTemplate, values: Self.cardValues($0)) })
        var failures: [ShieldConexError] = []
        for future in futures {
            do {
                _ = try await future.get()
            } catch let error as ShieldConexError {
                failures.append(error)
            }
        }
        #expect(failures.count >= 20)
        #expect(failures.allSatisfy { $0.isRetryable })
        try await client.closeFuture.get()
        #expect(harness.server.statistics.connectionsDropped == 1)
        await harness.stop()
    }

    @Test func idleConnectionsAreClosedByTheServer() async throws {
        let harness = try await LoopbackHarness.start { $0.idleTimeout = .milliseconds(200) }
        let client = try await harness.connect { $0.heartbeatInterval = .seconds(60) }
        try await client.closeFuture.get()
        #expect(harness.server.statistics.connectionsIdleClosed == 1)
        await #expect(throws: ShieldConexError.self) { _ = try await client.send(.heartbeat()) }
        await harness.stop()
    }

    @Test func tenThousandPipelinedRequestsOverFourConnectionsAreAllMatched() async throws {
        let harness = try await LoopbackHarness.start { $0.latency = .microseconds(500) }
        var clients: [ShieldConexConnection] = []
        for _ in 0..<4 { clients.append(try await harness.connect()) }
        let total = 10_000
        let batch = 250
        var matched = 0
        var start = 0
        // Each answer must carry the token of its own request: tokens are deterministic, so
        // a detokenize of the answer must give back exactly the value that was sent.
        let expected = try await clients[0].send(.tokenize(templateRef: Self.cardTemplate, values: [FieldValue(name: "scx_token_card_number", value: TestPAN.make(0))]))
        #expect(expected.success)
        while start < total {
            var pending: [(index: Int, future: EventLoopFuture<Response>)] = []
            for (offset, client) in clients.enumerated() {
                let indices = Array(stride(from: start + offset, to: min(start + batch * clients.count, total), by: clients.count))
                let requests = indices.map { index in
                    Request.tokenize(templateRef: Self.cardTemplate, values: [FieldValue(name: "scx_token_card_number", value: TestPAN.make(index))])
                }
                pending += zip(indices, client.send(requests)).map { ($0, $1) }
            }
            for (index, future) in pending {
                let response = try await future.get()
                let token = try #require(response.values?.first?.value)
                let pan = TestPAN.make(index)
                if response.success, token.prefix(6) == pan.prefix(6), token.suffix(4) == pan.suffix(4), token != pan {
                    matched += 1
                }
                if index == 0 { #expect(token == expected.values?.first?.value) }
            }
            start += batch * clients.count
        }
        #expect(matched == total)
        // Spot-check a sample by detokenizing: each answer belongs to its own request.
        for index in stride(from: 1, to: total, by: 997) {
            let pan = TestPAN.make(index)
            let tokenized = try await clients[index % 4].send(.tokenize(templateRef: Self.cardTemplate, values: [FieldValue(name: "scx_token_card_number", value: pan)]))
            let back = try await clients[(index + 1) % 4].send(.detokenize(bfid: tokenized.bfid!, values: tokenized.values!))
            #expect(back.values?.first?.value == pan)
        }
        #expect(harness.server.statistics.peakInFlight > 1)
        for client in clients { await client.close() }
        await harness.stop()
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        result.reserveCapacity(count)
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
