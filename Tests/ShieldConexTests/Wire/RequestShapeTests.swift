import Testing

@testable import ShieldConex

/// A request written by a ``RequestShape`` is the request ``Request`` writes, byte for byte, and
/// one that ``Request/validate()`` refuses is refused with the same error.
@Suite struct RequestShapeTests {
    static let templateRefs: [String?] = [nil, "", "438ac8afecdd8035a21c126ee1fe6c19", "tab\tand \"quote\"", String(repeating: "é", count: 255), String(repeating: "x", count: 256)]
    static let references: [String?] = [nil, "", "job:1", "job:12.3", "ré\\f", String(repeating: "é", count: 200), String(repeating: "r", count: 256)]
    static let bfids: [String?] = [nil, "short", String(repeating: "b", count: 32), "quote\"" + String(repeating: "b", count: 30), String(repeating: "b", count: 151)]
    static let valueSets: [[FieldValue]?] = [
        nil, [],
        [FieldValue(name: "card_number", value: "4111111111111111")],
        [FieldValue(name: "card_number", value: "x"), FieldValue(name: "card_exp", value: "12/28"), FieldValue(name: "card_cvv", value: "\u{1}\n\"é")],
        [FieldValue(name: "card_number", value: "x"), FieldValue(name: "", value: "y")],
    ]
    /// The field names a shape is told the values usually have: none, the values' own, others,
    /// and names that need escaping.
    static let nameSets: [[String]] = [[], ["card_number", "card_exp", "card_cvv"], ["card_exp", "card_number"], ["card_number", "ré\"q\"", ""]]

    @Test(arguments: Action.allCases)
    func writesWhatRequestWritesAndRefusesWhatItRefuses(action: Action) throws {
        var compared = 0
        for templateRef in Self.templateRefs {
            for (omit, store) in [(nil, nil), (true, false), (false, nil), (nil, true)] as [(Bool?, Bool?)] {
                for names in Self.nameSets {
                    let shape = RequestShape(action: action, templateRef: templateRef, omit: omit, store: store, fieldNames: names)
                    for reference in Self.references {
                        for bfid in Self.bfids {
                            for values in Self.valueSets {
                                let request = Request(
                                    action: action, templateRef: templateRef, omit: omit, store: store, reference: reference, bfid: bfid, values: values
                                )
                                var written = EncodedRequests()
                                let outcome = Self.append(shape, reference: reference, bfid: bfid, values: values, to: &written)
                                do throws(ShieldConexError) {
                                    try request.validate()
                                    #expect(throws: Never.self) { try outcome.get() }
                                    var expected = EncodedRequests()
                                    expected.append(request)
                                    #expect(written.bytes == expected.bytes, "\(request)")
                                    #expect(written.count == 1)
                                    // And the whole message is the request's.
                                    var whole = JSONWriter()
                                    request.encode(traceId: "t-1", into: &whole)
                                    #expect(Array("{\"traceId\":\"t-1\"".utf8) + written.bytes == whole.bytes)
                                } catch {
                                    guard case .failure(let refused) = outcome else {
                                        Issue.record("the shape wrote a request that validate() refuses: \(error)")
                                        continue
                                    }
                                    #expect("\(refused)" == "\(error)")
                                    #expect(written.isEmpty)
                                }
                                compared += 1
                            }
                        }
                    }
                }
            }
        }
        #expect(compared == Self.templateRefs.count * 4 * Self.nameSets.count * Self.references.count * Self.bfids.count * Self.valueSets.count)
    }

    static func append(
        _ shape: RequestShape, reference: String?, bfid: String?, values: [FieldValue]?, to written: inout EncodedRequests
    ) -> Result<Void, ShieldConexError> {
        guard let reference else {
            return Result { () throws(ShieldConexError) in try shape.append(reference: nil, bfid: bfid, values: values, to: &written) }
        }
        return Array(reference.utf8).withUnsafeBytes { bytes in
            Result { () throws(ShieldConexError) in try shape.append(reference: bytes, bfid: bfid, values: values, to: &written) }
        }
    }

    @Test func bodiesFollowOneAnother() throws {
        let shape = RequestShape(action: .tokenize, templateRef: "t", omit: false, store: false)
        var bodies = EncodedRequests(reservingCapacity: 3)
        for index in 0..<3 {
            try Self.append(shape, reference: "job:\(index)", bfid: nil, values: [FieldValue(name: "n", value: "\(index)")], to: &bodies).get()
        }
        #expect(bodies.count == 3)
        for index in 0..<3 {
            let text = bodies.withBody(index) { String(decoding: $0, as: UTF8.self) }
            #expect(text == #","action":"tokenization-tokenize","payload":{"templateRef":"t","omit":false,"store":false,"reference":"job:\#(index)","values":[{"name":"n","value":"\#(index)"}]}}"#)
        }
    }
}
