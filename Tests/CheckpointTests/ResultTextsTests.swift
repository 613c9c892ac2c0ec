import Testing

@testable import Checkpoint

/// A result's bfid, messageId and tokens as bytes in one buffer: the same text in and out, in the
/// form a result block stores (so a block of texts-built results reads back as it was written).
@Suite struct ResultTextsTests {
    @Test func textsReadBackAsTheyWereBuilt() {
        let cases: [(String?, String?, [String])] = [
            (nil, nil, []), ("B", nil, []), (nil, "m", ["t"]), ("bfid-" + String(repeating: "x", count: 200), "1202611300102566850000003", ["4111", "", "é😀"]),
            ("", "", [""]),
        ]
        for (bfid, messageId, values) in cases {
            let texts = ResultTexts(bfid: bfid, messageId: messageId, values: values)
            #expect(texts.bfid == bfid && texts.messageId == messageId && texts.values == values)
            #expect(texts.hasBfid == (bfid != nil) && texts.valueCount == values.count)
            #expect(texts.withBfid { Array($0) } == Array((bfid ?? "").utf8))
            for (index, value) in values.enumerated() {
                #expect(texts.withValue(index) { Array($0) } == Array(value.utf8))
            }
            #expect(texts.withValue(values.count) { $0.count } == 0)
            // Every range at once, as one by one.
            texts.withRanges { bytes, bfidRange, ranges in
                #expect(Array(bytes[bfidRange]) == Array((bfid ?? "").utf8))
                #expect(ranges.map { String(decoding: bytes[$0], as: UTF8.self) } == values)
            }
            let trimmed = texts.withoutValues
            #expect(trimmed.bfid == bfid && trimmed.messageId == messageId && trimmed.values.isEmpty)
            // Built from bytes, the same.
            var builder = ResultTexts.Builder(capacity: 8)
            bfid.map { var text = $0; text.withUTF8 { builder.appendOptional(UnsafeRawBufferPointer($0)) } } ?? builder.appendOptional(nil as UnsafeRawBufferPointer?)
            builder.appendOptional(messageId)
            builder.appendCount(values.count)
            for value in values { builder.appendValue(value) }
            #expect(builder.texts == texts)
        }
        #expect(ResultTexts.empty == ResultTexts(bfid: nil, messageId: nil, values: []))
        // Bytes that do not parse have no ranges (never a trap).
        for bytes: [UInt8] in [[], [5], [0, 0, 9, 1], [3, 65, 66], [0xFF, 0xFF]] {
            ResultTexts(bytes: bytes).withRanges { raw, bfid, ranges in
                #expect(bfid.upperBound <= raw.count && ranges.allSatisfy { $0.upperBound <= raw.count })
            }
        }
    }

    @Test func resultsKeepTheirTextsThroughABlock() throws {
        let results = [
            RecordResult(seq: 1, status: .done, texts: ResultTexts(bfid: "B1", messageId: "m1", values: ["t1", "t2"]), attempts: 2, digest: [2, 9]),
            RecordResult(seq: 2, status: .done, bfid: "B2", tokens: []),
            RecordResult(seq: 3, status: .rejected, messageId: "m3", errorCode: "1006", message: "bad"),
            RecordResult(seq: 4, status: .done, texts: .empty, attempts: 0),
        ]
        let block = ResultBlock(encoding: results)
        #expect(block.decoded() == results)
        var edited = results[0]
        edited.tokens = ["u"]
        edited.messageId = nil
        #expect(edited.bfid == "B1" && edited.messageId == nil && edited.tokens == ["u"])
    }
}

/// A record's digest held as a value: the same bytes in and out, whatever their form.
@Suite struct RecordDigestTests {
    @Test func digestsKeepTheirBytes() {
        var generator = SystemRandomNumberGenerator()
        let versionTwo = [UInt8(2)] + (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let legacy = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for bytes in [versionTwo, legacy, [2], [], [3] + Array(versionTwo.dropFirst()), versionTwo + [0]] {
            let digest = RecordDigest(bytes: bytes)
            #expect(digest.bytes == bytes && digest.count == bytes.count)
            var out: [UInt8] = [9]
            digest.append(to: &out)
            #expect(out == [9] + bytes)
            var result = RecordResult(seq: 1, status: .done, bfid: "B", tokens: ["t"], digest: bytes)
            #expect(result.digest == bytes && result.recordDigest == digest)
            #expect(ResultBlock(encoding: [result]).decoded() == [result])
            result.digest = nil
            #expect(result.recordDigest == nil)
        }
    }
}
