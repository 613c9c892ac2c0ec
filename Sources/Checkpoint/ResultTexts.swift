/// A result's bfid, messageId and values (tokens; in memory also a detokenize's plaintext) as
/// UTF-8 in one buffer: one allocation per answer instead of a `String` for each and an array,
/// and already in the form a ``ResultBlock`` stores (bfid and messageId each as a varint
/// `length + 1`, 0 for none, then their bytes; a varint value count; each value as a varint
/// length and its bytes), so storing it copies bytes. Built from an answer's bytes with
/// ``Builder``; read as bytes (``withBfid(_:)``, ``withValue(_:_:)``) on the hot path and as
/// `String`s (``bfid``, ``values``) elsewhere.
public struct ResultTexts: Sendable, Hashable {
    public private(set) var bytes: [UInt8]

    /// No bfid, no messageId, no values.
    public static let empty = ResultTexts(bytes: [0, 0, 0])

    init(bytes: [UInt8]) { self.bytes = bytes }

    public init(bfid: String?, messageId: String?, values: [String]) {
        var builder = Builder(capacity: 8 + (bfid?.utf8.count ?? 0) + (messageId?.utf8.count ?? 0) + values.count * 24)
        builder.appendOptional(bfid)
        builder.appendOptional(messageId)
        builder.appendCount(values.count)
        for value in values { builder.appendValue(value) }
        self = builder.texts
    }

    /// Builds texts in their order: bfid, messageId, the value count, each value.
    public struct Builder {
        var bytes: [UInt8] = []

        public init(capacity: Int) { bytes.reserveCapacity(capacity) }

        public mutating func appendOptional(_ part: UnsafeRawBufferPointer?) {
            guard let part else { return bytes.append(0) }
            bytes.appendVarint(UInt64(part.count) + 1)
            bytes.appendRaw(part)
        }

        public mutating func appendOptional(_ part: String?) {
            guard var part else { return bytes.append(0) }
            part.withUTF8 { appendOptional(UnsafeRawBufferPointer($0)) }
        }

        public mutating func appendCount(_ count: Int) { bytes.appendVarint(UInt64(count)) }

        public mutating func appendValue(_ value: UnsafeRawBufferPointer) {
            bytes.appendVarint(UInt64(value.count))
            bytes.appendRaw(value)
        }

        public mutating func appendValue(_ value: String) {
            var value = value
            value.withUTF8 { appendValue(UnsafeRawBufferPointer($0)) }
        }

        public var texts: ResultTexts { ResultTexts(bytes: bytes) }
    }

    /// Where each part lies in ``bytes``; `nil` parts for bytes that do not parse (never from a builder).
    private struct Layout {
        var bfid: Range<Int>?
        var messageId: Range<Int>?
        var values: Range<Int>
        var count: Int
        /// Where the value count starts: the token part of a ``ResultBlock`` from here on.
        var countStart: Int
    }

    private func layout() -> Layout? {
        // A reader of its own, not nested functions over a captured `var offset`: a captured
        // variable is checked for exclusive access at run time on every use.
        var reader = VarintReader(bytes: bytes)
        guard let bfid = reader.optionalRange(), let messageId = reader.optionalRange() else { return nil }
        let countStart = reader.offset
        guard let count = reader.varint() else { return nil }
        return Layout(bfid: bfid, messageId: messageId, values: reader.offset..<bytes.count, count: count, countStart: countStart)
    }

    private struct VarintReader {
        let bytes: [UInt8]
        var offset = 0

        mutating func varint() -> Int? {
            var value = 0
            var shift = 0
            while offset < bytes.count, shift < 63 {
                let byte = bytes[offset]
                offset += 1
                value |= Int(byte & 0x7F) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
            return nil
        }

        /// A varint length and that many bytes: where they are (`nil` past the end).
        mutating func lengthPrefixedRange() -> Range<Int>? {
            guard let length = varint(), length <= bytes.count - offset else { return nil }
            defer { offset += length }
            return offset..<(offset + length)
        }

        /// `.some(nil)` for an absent part, `nil` for bytes that do not parse.
        mutating func optionalRange() -> Range<Int>?? {
            guard let marker = varint() else { return nil }
            if marker == 0 { return .some(nil) }
            guard marker - 1 <= bytes.count - offset else { return nil }
            defer { offset += marker - 1 }
            return .some(offset..<(offset + marker - 1))
        }
    }

    private func string(_ range: Range<Int>?) -> String? {
        range.map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    public var bfid: String? { string(layout()?.bfid) }
    public var messageId: String? { string(layout()?.messageId) }
    public var hasBfid: Bool { layout()?.bfid != nil }

    /// The values as text.
    public var values: [String] {
        var values: [String] = []
        forEachValue { values.append(String(decoding: $0, as: UTF8.self)) }
        return values
    }

    public var valueCount: Int { layout()?.count ?? 0 }

    /// Where the value count starts in ``bytes`` (what a ``ResultBlock`` keeps apart as tokens).
    var tokensStart: Int { layout()?.countStart ?? bytes.count }

    /// Calls `body` with each value's bytes, in order.
    public func forEachValue(_ body: (UnsafeRawBufferPointer) -> Void) {
        guard let layout = layout() else { return }
        var reader = VarintReader(bytes: bytes, offset: layout.values.lowerBound)
        bytes.withUnsafeBytes { raw in
            for _ in 0..<layout.count {
                guard let range = reader.lengthPrefixedRange() else { return }
                body(UnsafeRawBufferPointer(rebasing: raw[range]))
            }
        }
    }

    /// Where the bfid's bytes are in ``bytes`` (empty when there is none).
    public var bfidRange: Range<Int> { layout()?.bfid ?? 0..<0 }

    /// Where the bytes of the value at `index` are in ``bytes`` (empty past the last).
    public func valueRange(_ index: Int) -> Range<Int> {
        guard let layout = layout(), index >= 0, index < layout.count else { return 0..<0 }
        var reader = VarintReader(bytes: bytes, offset: layout.values.lowerBound)
        for _ in 0..<index where reader.lengthPrefixedRange() == nil { return 0..<0 }
        return reader.lengthPrefixedRange() ?? 0..<0
    }

    // Inlinable, so that they are specialized where they are used: unspecialized, the generic
    // result makes the runtime look up type metadata on every call.

    /// The bfid's bytes (empty when there is none).
    @inlinable
    public func withBfid<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        let range = bfidRange
        return bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    /// The bytes of the value at `index` (empty past the last).
    @inlinable
    public func withValue<Result>(_ index: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        let range = valueRange(index)
        return bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    /// Calls `body` with the bytes, the bfid's range in them (empty when there is none) and each
    /// value's range, found in one pass (a line that writes every value reads the layout once,
    /// not once per value). Not generic: specialized here, not looked up at run time per line.
    public func withRanges(_ body: (UnsafeRawBufferPointer, Range<Int>, UnsafeBufferPointer<Range<Int>>) -> Void) {
        let layout = layout()
        let count = layout?.count ?? 0
        return withUnsafeTemporaryAllocation(of: Range<Int>.self, capacity: max(count, 1)) { ranges in
            var found = 0
            if let layout {
                var reader = VarintReader(bytes: bytes, offset: layout.values.lowerBound)
                while found < count, let range = reader.lengthPrefixedRange() {
                    ranges.initializeElement(at: found, to: range)
                    found += 1
                }
            }
            defer { ranges.baseAddress!.deinitialize(count: found) }
            return bytes.withUnsafeBytes { raw in
                body(raw, layout?.bfid ?? 0..<0, UnsafeBufferPointer(rebasing: ranges[..<found]))
            }
        }
    }

    /// The same texts without values (what the checkpoint keeps of a detokenize).
    public var withoutValues: ResultTexts {
        guard let layout = layout() else { return .empty }
        var builder = Builder(capacity: layout.values.lowerBound)
        bytes.withUnsafeBytes { raw in
            builder.appendOptional(layout.bfid.map { UnsafeRawBufferPointer(rebasing: raw[$0]) })
            builder.appendOptional(layout.messageId.map { UnsafeRawBufferPointer(rebasing: raw[$0]) })
        }
        builder.appendCount(0)
        return builder.texts
    }
}
