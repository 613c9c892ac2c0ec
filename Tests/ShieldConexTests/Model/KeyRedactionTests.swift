import Foundation
import NIOHTTP1
import Testing

@testable import ShieldConex

/// No part of the key reaches a message, whatever a server echoes of it (second audit, item 8).
@Suite struct KeyRedactionTests {
    static let secret = "partner-17:s3cr3t-partner-key"
    static let key = APIKey(Data(secret.utf8).base64EncodedString())

    @Test(arguments: [
        "Unauthorized: Basic KEY", "Authorization: Basic KEY was refused", "bad key KEY", "decoded DECODED", "partner key s3cr3t-partner-key",
        "{\"authorization\":\"Basic KEY\"}", "bearer someone-elses-token", "AUTHORIZATION:   BASIC cut-off",
    ])
    func theKeyIsRedactedInEveryForm(template: String) {
        let text = template.replacingOccurrences(of: "KEY", with: Self.key.value).replacingOccurrences(of: "DECODED", with: Self.secret)
        let shown = APIKey.redact(text, key: Self.key)
        #expect(!shown.contains(Self.key.value) && !shown.contains("s3cr3t") && !shown.contains("someone-elses") && !shown.contains("cut-off"), "\(shown)")
        #expect(shown.contains("<redacted>"))
    }

    @Test func aRefusalBodyThatEchoesTheKeyIsRedacted() {
        let head = HTTPResponseHead(version: .http1_1, status: .unauthorized)
        let body = Array("{\"code\":8003,\"message\":\"Unauthorized: Basic \(Self.key.value)\"}".utf8)
        let error = HandshakeRefusal.error(head: head, body: body, key: Self.key)
        #expect(!"\(error)".contains(Self.key.value) && "\(error)".contains("Unauthorized"), "\(error)")
    }

    @Test func ordinaryTextIsLeftAlone() {
        #expect(APIKey.redact("Template not found", key: Self.key) == "Template not found")
    }
}
