#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Strings that come back in every answer (each value's field name, the action): the decoder
/// hands out the same `String` again instead of allocating one per answer. Small and bounded: a
/// server that sends ever new names just gets fresh strings once the cache is full.
public struct RecurringStrings: Sendable {
    /// Each string with its bytes, compared with `memcmp` (a `String`'s UTF-8 view is not).
    private var entries: [(bytes: [UInt8], string: String)] = []
    private let limit = 16

    public init() {}

    mutating func string(_ bytes: UnsafeRawBufferPointer) -> String {
        for entry in entries where entry.bytes.count == bytes.count {
            let same = entry.bytes.withUnsafeBytes { stored in
                stored.count == 0 || memcmp(stored.baseAddress!, bytes.baseAddress!, stored.count) == 0
            }
            if same { return entry.string }
        }
        let string = String(decoding: bytes, as: UTF8.self)
        if entries.count < limit { entries.append((Array(bytes), string)) }
        return string
    }
}
