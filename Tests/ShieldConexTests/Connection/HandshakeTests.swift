import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOWebSocket
import Logging
import Testing

@testable import ShieldConex

/// What the client sends in its upgrade request, and how it reads an answer other than 101.
struct HandshakeTests {
    /// The upgrade request as it leaves the client, read off an `EmbeddedChannel`.
    @Test func theUpgradeRequestCarriesOnlyWhatRFC6455AsksForAndAuthorization() throws {
        let channel = EmbeddedChannel()
        let endpoint = try Endpoint("ws://127.0.0.1:8765/")
        _ = try ShieldConexConnection.configurePipeline(
            channel: channel, endpoint: endpoint, key: APIKey("a2V5OmtleQ=="), sslContext: nil, configuration: .init(),
            logger: .init(label: "test")
        )
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8765)).wait()
        var written = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) { written.writeBuffer(&part) }
        let text = String(buffer: written)
        let lines = text.components(separatedBy: "\r\n")
        #expect(lines.first == "GET / HTTP/1.1")
        let names = lines.dropFirst().prefix { !$0.isEmpty }.map { $0.split(separator: ":")[0].lowercased() }
        #expect(Set(names) == ["host", "authorization", "connection", "upgrade", "sec-websocket-key", "sec-websocket-version"])
        #expect(names.count == Set(names).count, "no header twice")
        #expect(text.hasSuffix("\r\n\r\n"), "no body")
        #expect(!text.lowercased().contains("content-length") && !text.lowercased().contains("transfer-encoding"))
        _ = try? channel.finish()
    }

    static func head(_ status: HTTPResponseStatus, _ headers: [(String, String)] = []) -> HTTPResponseHead {
        HTTPResponseHead(version: .http1_1, status: status, headers: HTTPHeaders(headers))
    }

    @Test func a401WithAnORCABodyIsAnAuthenticationFailureWithItsMessage() {
        let body = Array(#"{"success": false, "code": 8003, "message": "Authentication Error"}"#.utf8)
        let error = HandshakeRefusal.error(head: Self.head(.unauthorized), body: body)
        #expect(error == .authenticationFailed(status: 401, message: "8003 Authentication Error"))
        #expect(error.isAuthenticationFailure && !error.isRetryable)
        #expect(HandshakeRefusal.error(head: Self.head(.forbidden), body: Array("not json".utf8)) == .authenticationFailed(status: 403))
    }

    @Test func busyAnswersAreTransientAndCarryRetryAfter() {
        let seconds = HandshakeRefusal.error(head: Self.head(.serviceUnavailable, [("Retry-After", "7")]), body: [])
        #expect(seconds == .handshakeRefused(status: 503, reason: "Service Unavailable", retryAfter: .seconds(7)))
        #expect(seconds.isRetryable && seconds.isTransientRefusal)
        let now = Date(timeIntervalSince1970: 40)
        let date = HandshakeRefusal.error(head: Self.head(.tooManyRequests, [("Retry-After", "Thu, 01 Jan 1970 00:01:40 GMT")]), body: [], now: now)
        #expect(date == .handshakeRefused(status: 429, reason: "Too Many Requests", retryAfter: .seconds(60)))
        #expect(date.isTransientRefusal)
        #expect(HandshakeRefusal.retryAfter("Thu, 01 Jan 1970 00:01:40 GMT", now: Date(timeIntervalSince1970: 40)) == .seconds(60))
        #expect(HandshakeRefusal.retryAfter("99999", now: now) == .seconds(3600), "capped at an hour")
        #expect(HandshakeRefusal.retryAfter("soon", now: now) == nil)
        #expect(HandshakeRefusal.retryAfter("-3", now: now) == nil)
    }

    @Test func anyOtherStatusIsARefusalWithStatusAndReason() {
        let error = HandshakeRefusal.error(head: Self.head(.badRequest), body: Array("unsupported request body".utf8))
        #expect(error.description == "handshake refused: HTTP 400 Bad Request")
        #expect(!error.isRetryable)
    }

    @Test func onlyLoopbackMayGoWithoutTLS() throws {
        for text in ["ws://127.0.0.1:1", "ws://127.8.9.10:1", "ws://localhost:1", "ws://[::1]:1", "wss://example.test"] {
            #expect(throws: Never.self) { try Endpoint(text).checkTransport(allowInsecure: false) }
        }
        for text in ["ws://10.0.0.1:1", "ws://example.test", "ws://127.0.0.1.example.test", "ws://[::2]:1"] {
            #expect(throws: ShieldConexError.self) { try Endpoint(text).checkTransport(allowInsecure: false) }
            #expect(throws: Never.self) { try Endpoint(text).checkTransport(allowInsecure: true) }
        }
    }
}
