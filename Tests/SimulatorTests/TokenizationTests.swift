import Crypto
import Foundation
import ShieldConex
import Testing

@testable import Simulator
import TestSupport

@Suite struct TokenizationTests {
    let secret = SymmetricKey(data: SHA256.hash(data: Array("test".utf8)))

    /// Luhn-valid generated test numbers.
    static func pan(_ index: Int) -> String {
        TestCards.pan(index)
    }

    @Test func cardTokensKeepFirstSixAndLastFourAndReverse() {
        let cipher = TokenCipher(secret: secret, templateRef: "t", field: "pan", kind: .cardNumber)
        for index in 0..<2_000 {
            let pan = Self.pan(index * 7919)
            let token = cipher.tokenize(pan)!
            #expect(Luhn.isValid(pan))
            #expect(token != pan)
            #expect(token.count == pan.count)
            #expect(token.prefix(6) == pan.prefix(6) && token.suffix(4) == pan.suffix(4))
            #expect(token.allSatisfy { $0.isNumber })
            #expect(cipher.tokenize(pan) == token, "deterministic per value")
            #expect(cipher.detokenize(token) == pan)
        }
    }

    @Test func theSpecsNonLuhnSampleNumberIsTokenized() {
        let cipher = TokenCipher(secret: secret, templateRef: "t", field: "pan", kind: .cardNumber)
        #expect(cipher.tokenize("4444333322221112") != nil)
    }

    @Test func tokensDependOnTemplateAndField() {
        let pan = Self.pan(42)
        let a = TokenCipher(secret: secret, templateRef: "t1", field: "pan", kind: .cardNumber).tokenize(pan)
        let b = TokenCipher(secret: secret, templateRef: "t2", field: "pan", kind: .cardNumber).tokenize(pan)
        let c = TokenCipher(secret: secret, templateRef: "t1", field: "other", kind: .cardNumber).tokenize(pan)
        #expect(a != b && a != c)
    }

    @Test(arguments: [
        (Template.FieldKind.digits, "1225"), (.digits, "0"), (.alphanumeric, "AbC123xyz"),
        (.text, "Jane O'Brien-Smith, Straße 5"), (.text, "x"),
    ])
    func otherKindsKeepLengthAndAlphabet(kind: Template.FieldKind, value: String) {
        let cipher = TokenCipher(secret: secret, templateRef: "t", field: "f", kind: kind)
        let token = cipher.tokenize(value)!
        #expect(token != value)
        #expect(token.utf8.count == value.utf8.count)
        for (plain, tokenCharacter) in zip(value, token) {
            #expect(plain.isNumber == tokenCharacter.isNumber)
            #expect(plain.isLowercase == tokenCharacter.isLowercase && plain.isUppercase == tokenCharacter.isUppercase)
            if !(plain.isASCII && (plain.isLetter || plain.isNumber)) { #expect(plain == tokenCharacter) }
        }
        #expect(cipher.detokenize(token) == value)
    }

    @Test(arguments: [
        (Template.FieldKind.cardNumber, "4000-0000"), (.cardNumber, "12345678901"), (.cardNumber, String(repeating: "4", count: 20)),
        (.digits, ""), (.digits, "12a"), (.alphanumeric, "ab c"), (.text, "--- ..."),
    ])
    func valuesThatDoNotFitTheKindAreRefused(kind: Template.FieldKind, value: String) {
        #expect(TokenCipher(secret: secret, templateRef: "t", field: "f", kind: kind).tokenize(value) == nil)
    }

    @Test func messageIdsAndBfidsHaveTheSpecsShape() throws {
        let ms: Int64 = 1_574_251_292_103  // 2019-11-20T12:01:32.103Z, as in the spec's sample messageId
        let messageId = MessageIdentity.messageId(millisecondsSince1970: ms, sequence: 1_626_749)
        #expect(messageId == "1201911201201321031626749")
        #expect(abs(MessageIdentity.date(ofMessageId: messageId)!.timeIntervalSince1970 - Double(ms) / 1000) < 0.0005)

        let identity = MessageIdentity(secret: secret)
        let bfid = identity.bfid(messageId: messageId, templateRef: "tpl")
        #expect(bfid.count == 84)
        let decoded = String(data: Data(base64Encoded: bfid)!, encoding: .utf8)!
        #expect(decoded.hasPrefix("v1:\(messageId)|") && decoded.hasSuffix("||"))
        #expect(decoded.dropFirst(3 + 25 + 1).dropLast(2).count == 32)
        // The tag is HMAC-SHA256 of "bfid|messageId|templateRef" under the secret, 16 bytes in hex,
        // whatever way the keyed state is set up.
        let reference = HMAC<SHA256>.authenticationCode(for: Array("bfid|\(messageId)|tpl".utf8), using: secret)
            .prefix(16).map { String(format: "%02x", $0) }.joined()
        #expect(String(decoded.dropFirst(3 + 25 + 1).dropLast(2)) == reference)
        #expect(identity.bfid(messageId: messageId, templateRef: "tpl") == bfid, "the same every time")
        let parsed = try #require(identity.parse(bfid: bfid, templateRefs: ["other", "tpl"]))
        #expect(parsed.messageId == messageId && parsed.templateRef == "tpl")
        #expect(identity.parse(bfid: bfid, templateRefs: ["other"]) == nil)
        // The spec's sample bfid is well-formed but not one of ours.
        #expect(identity.parse(bfid: "djE6MTIwMTkxMTIwMTIwMTMyMTAzMTYyNjc0OXwxYjIxNGU1MjQ4NDgxYjFlOTRmNjRhZTg5YWU0Njg3ZXx8", templateRefs: ["tpl"]) == nil)
    }

    @Test func builtInTemplatesMatchTheSamplesFile() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../samples/templates.json")
        let fromFile = try TemplateSet.load(path: url.standardizedFileURL.path)
        #expect(fromFile.templates == TemplateSet.builtIn.templates)
        let sample = try #require(fromFile["438ac8afecdd8035a21c126ee1fe6c19"])
        #expect(Set(sample.fields.keys) == ["card_number", "card_exp", "card_cvv"])
        #expect(fromFile["152a4e3f7f31f0a746388adbae1b47f5"]?.fields["scx_token_card_number"]?.kind == .cardNumber)
        #expect(fromFile["irreversible-card"]?.irreversible == true)
    }

    @Test(arguments: [
        #"{"templates":[{"templateRef":"a","fields":[]}]}"#,
        #"{"templates":[{"templateRef":"a","fields":[{"name":"f","kind":"cardNumber"},{"name":"f","kind":"digits"}]}]}"#,
        #"{"templates":[{"templateRef":"a","fields":[{"name":"f","kind":"shoe"}]}]}"#,
        #"{"templates":[{"templateRef":"a","activeFrom":"P2D","activeTo":"P1D","fields":[{"name":"f","kind":"digits"}]}]}"#,
        #"{"templates":[{"templateRef":"a","activeTo":"tomorrow","fields":[{"name":"f","kind":"digits"}]}]}"#,
        #"{"templates":[{"templateRef":"a","fields":[{"name":"f","kind":"digits"}]},{"templateRef":"a","fields":[{"name":"f","kind":"digits"}]}]}"#,
    ])
    func badTemplateFilesAreRefused(json: String) {
        #expect(throws: TemplateSet.LoadError.self) { try TemplateSet(json: Data(json.utf8)) }
    }
}
