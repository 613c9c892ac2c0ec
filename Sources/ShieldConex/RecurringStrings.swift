/// Strings that come back in every answer (each value's field name, the action): the decoder
/// hands out the same `String` again instead of allocating one per answer. Small and bounded: a
/// server that sends ever new names just gets fresh strings once the cache is full.
public struct RecurringStrings: Sendable {
    private var strings: [String] = []
    private let limit = 16

    public init() {}

    mutating func string(_ bytes: UnsafeRawBufferPointer) -> String {
        for string in strings {
            let same = string.utf8.withContiguousStorageIfAvailable { stored in
                stored.count == bytes.count && stored.elementsEqual(bytes)
            }
            if same == true { return string }
        }
        let string = String(decoding: bytes, as: UTF8.self)
        if strings.count < limit { strings.append(string) }
        return string
    }
}
