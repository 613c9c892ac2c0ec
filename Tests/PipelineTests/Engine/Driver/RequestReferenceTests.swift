import Testing

@testable import Pipeline

/// A request's reference is the job's prefix, the record's seq and, after a record's first
/// request, the group: written on the stack, the same text as writing it out.
@Suite struct RequestReferenceTests {
    @Test func referencesReadAsThePrefixTheSeqAndTheGroup() {
        for prefix in ["", "job:", "a-much-longer-job-identifier-than-usual:"] {
            for seq in [0, 7, 10, 99, 100, 123_456_789, Int.max] {
                for group in [0, 1, 12, Int.max] {
                    let expected = prefix + String(seq) + (group > 0 ? "." + String(group) : "")
                    let written = Engine.withReference(prefix: Array(prefix.utf8), seq: seq, group: group) { String(decoding: $0, as: UTF8.self) }
                    #expect(written == expected)
                }
            }
        }
    }
}
