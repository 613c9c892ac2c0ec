import Testing

@testable import Pipeline

@Suite struct CSVEncodingTests {
    /// The eight-at-a-time test agrees with looking at each byte, wherever the byte that needs
    /// quotes is and whatever surrounds it (bytes above 0x80 included).
    @Test func needsQuotesAgreesWithAByteLoop() {
        var random = SystemRandomNumberGenerator()
        let interesting: [UInt8] = [0x00, 0x0A, 0x0D, 0x22, 0x2C, 0x3B, 0x09, 0x7C, 0x80, 0xFF, 0x41, 0x0B, 0x21, 0x23]
        for _ in 0..<20_000 {
            let delimiter = [UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "\t"), UInt8(ascii: "|")].randomElement(using: &random)!
            let bytes = (0..<Int.random(in: 0...40, using: &random)).map { _ in
                Int.random(in: 0..<8, using: &random) == 0 ? interesting.randomElement(using: &random)! : UInt8.random(in: 0x30...0x7A, using: &random)
            }
            let expected = bytes.contains { $0 == delimiter || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }
            #expect(bytes.withUnsafeBytes { CSVEncoding.needsQuotes($0, delimiter: delimiter) } == expected, "\(bytes) with \(delimiter)")
        }
    }

    @Test func fieldsAreQuotedWhenTheyWereOrMustBe() {
        func encoded(_ text: String, quoted: Bool = false) -> String {
            var out: [UInt8] = []
            CSVEncoding.append(text, quoted: quoted, delimiter: UInt8(ascii: ","), to: &out)
            return String(decoding: out, as: UTF8.self)
        }
        #expect(encoded("tok_1234567890abcdef") == "tok_1234567890abcdef")
        #expect(encoded("plain", quoted: true) == "\"plain\"")
        #expect(encoded("a,b") == "\"a,b\"")
        #expect(encoded("say \"hi\" to everyone here") == "\"say \"\"hi\"\" to everyone here\"")
        #expect(encoded("two\nlines of text, long") == "\"two\nlines of text, long\"")
        #expect(encoded("ends with cr\r") == "\"ends with cr\r\"")
    }
}
