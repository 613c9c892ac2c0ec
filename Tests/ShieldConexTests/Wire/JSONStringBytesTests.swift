import Testing

@testable import ShieldConex

/// The eight-bytes-at-a-time search for where a JSON string's plain run ends, checked against a
/// byte-by-byte search, and the scanner and writer that use it on strings with specials everywhere.
@Suite struct JSONStringBytesTests {
    static func naive(_ bytes: [UInt8], from start: Int) -> Int {
        bytes[start...].firstIndex { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 < 0x20 } ?? bytes.count
    }

    @Test func findsTheFirstSpecialByteAsAByteByByteSearchDoes() {
        // Every special (and the bytes around the thresholds) at every position of runs up to
        // three words long, with plain ASCII and UTF-8 bytes (>= 0x80) around it.
        let specials: [UInt8] = [0x22, 0x5C, 0x00, 0x01, 0x0A, 0x1F]
        let plain: [UInt8] = [0x20, 0x21, 0x23, 0x5B, 0x5D, 0x7F, 0x80, 0xC3, 0xA9, 0xFF, UInt8(ascii: "a")]
        var generator = SplitMix64(seed: 7)
        for length in 0...24 {
            for position in -1..<length {
                for special in specials {
                    var bytes = (0..<length).map { _ in plain[Int(generator.next() % UInt64(plain.count))] }
                    if position >= 0 { bytes[position] = special }
                    // A second special later on must not hide the first.
                    if position >= 0, position + 3 < length { bytes[position + 3] = specials[Int(generator.next() % 6)] }
                    for start in 0...length {
                        let found = bytes.withUnsafeBytes { JSONStringBytes.firstSpecial(in: $0, from: start) }
                        #expect(found == Self.naive(bytes, from: start), "length \(length), special at \(position), from \(start)")
                    }
                }
            }
        }
    }

    @Test func stringsWithSpecialsAnywhereSurviveWritingAndReading() throws {
        let pieces = ["", "a", "é", "\"", "\\", "\n", "\u{01}", "\u{1F}", "😀", "plain text!", "12345678"]
        var generator = SplitMix64(seed: 11)
        for _ in 0..<2_000 {
            let text = (0..<Int(generator.next() % 12)).map { _ in pieces[Int(generator.next() % UInt64(pieces.count))] }.joined()
            var writer = JSONWriter()
            writer.string(text)
            // Nothing below 0x20 is written raw.
            #expect(!writer.bytes.contains { $0 < 0x20 })
            let read = try writer.bytes.withUnsafeBytes { bytes in
                var scanner = JSONScanner(bytes)
                let string = try scanner.readString()
                try scanner.expectEnd()
                return string
            }
            #expect(read == text)
            // Skipped as a value, it ends where it ends.
            var wrapped = writer.bytes
            wrapped.append(contentsOf: Array(",1]".utf8))
            wrapped.insert(UInt8(ascii: "["), at: 0)
            try wrapped.withUnsafeBytes { bytes in
                var scanner = JSONScanner(bytes)
                try scanner.skipValue()
                try scanner.expectEnd()
            }
        }
    }

    @Test func brokenStringsAreErrorsNotTraps() {
        for text in ["\"abc", "\"abc\\", "\"a\u{01}b\"", "\"12345678\u{0A}\"", "\"\\"] {
            let bytes = Array(text.utf8)
            bytes.withUnsafeBytes { raw in
                var scanner = JSONScanner(raw)
                #expect(throws: JSONScanner.SyntaxError.self) { try scanner.readString() }
                var skipping = JSONScanner(raw)
                #expect(throws: JSONScanner.SyntaxError.self) { try skipping.skipValue() }
            }
        }
    }
}
