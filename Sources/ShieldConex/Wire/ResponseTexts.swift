/// A response's messageId, bfid and values (each name and value) as UTF-8 in one buffer, written
/// as the decoder meets them: one allocation per answer instead of a `String` for each and an
/// array. Read as bytes on the client's hot path (``withValues(_:)``, ``withBfid(_:)``) and as
/// `String`s (``Response/messageId``, ``Response/bfid``, ``Response/values``) elsewhere.
///
/// The buffer is a log of entries — a tag byte, a varint `length + 1` (0: null) and the bytes —
/// in which the last entry of a kind wins, as the last of a repeated JSON key does: a messageId
/// or bfid entry; a values entry (0: no array, 1: an array; the name/value pairs after the last
/// one are its elements).
public struct ResponseTexts: Sendable {
    enum Tag: UInt8 {
        case messageId = 1
        case bfid = 2
        case values = 3
        case name = 4
        case value = 5
    }

    private(set) var log: [UInt8] = []

    public init() {}

    // MARK: Writing

    mutating func append(_ tag: Tag, _ bytes: UnsafeRawBufferPointer?) {
        log.append(tag.rawValue)
        guard let bytes else { return log.append(0) }
        appendVarint(bytes.count + 1)
        log.appendRaw(bytes)
    }

    mutating func append(_ tag: Tag, _ string: String?) {
        guard var string else { return append(tag, nil as UnsafeRawBufferPointer?) }
        string.withUTF8 { append(tag, UnsafeRawBufferPointer($0)) }
    }

    /// Starts a values array (`present`) or records that there is none.
    mutating func startValues(present: Bool) {
        log.append(Tag.values.rawValue)
        log.append(present ? 1 : 0)
    }

    var count: Int { log.count }

    mutating func reserveCapacity(_ capacity: Int) { log.reserveCapacity(capacity) }

    /// Empties the log, keeping its capacity.
    mutating func removeAll() { log.removeAll(keepingCapacity: true) }

    /// Drops what was written from `offset` on (an element being rewritten).
    mutating func truncate(to offset: Int) { log.removeSubrange(offset...) }

    enum Element {
        case complete
        case noName
        case noValue
    }

    /// Settles the entries of one values element written from `start` (a name and a value, in
    /// either order, each possibly repeated or null) into one name entry and one value entry: the
    /// last of each, as for a repeated key.
    mutating func settleElement(from start: Int) -> Element {
        var name: Range<Int>??
        var value: Range<Int>??
        var entries = 0
        var inOrder = true
        log.withUnsafeBytes { raw in
            func range(_ bytes: UnsafeRawBufferPointer?) -> Range<Int>? {
                guard let bytes, let base = raw.baseAddress, let at = bytes.baseAddress else { return bytes.map { _ in 0..<0 } }
                let offset = base.distance(to: at)
                return offset..<(offset + bytes.count)
            }
            Self.walk(raw, from: start) { tag, bytes, _ in
                entries += 1
                switch tag {
                case .name:
                    name = .some(range(bytes))
                    inOrder = inOrder && entries == 1
                case .value:
                    value = .some(range(bytes))
                    inOrder = inOrder && entries == 2
                default: break
                }
            }
        }
        guard case .some(.some(let nameRange)) = name else { return .noName }
        guard case .some(.some(let valueRange)) = value else { return .noValue }
        if !(inOrder && entries == 2) {
            // Out of order, repeated or with nulls: rewritten as one name and one value (rare).
            let (nameBytes, valueBytes) = (Array(log[nameRange]), Array(log[valueRange]))
            truncate(to: start)
            nameBytes.withUnsafeBytes { append(.name, $0) }
            valueBytes.withUnsafeBytes { append(.value, $0) }
        }
        return .complete
    }

    private mutating func appendVarint(_ value: Int) {
        var value = UInt64(value)
        while value >= 0x80 {
            log.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        log.append(UInt8(value))
    }

    // MARK: Reading

    /// The texts as they stand, as bytes: valid only inside ``withParts(_:)``.
    public struct Parts {
        /// The last messageId (`nil`: none, or null).
        public let messageId: UnsafeRawBufferPointer?
        /// The last bfid (`nil`: none, or null).
        public let bfid: UnsafeRawBufferPointer?
        /// How many elements the last values array has (`nil`: no array).
        public let valueCount: Int?
        let log: UnsafeRawBufferPointer
        let valuesStart: Int

        /// Calls `body` with each element of the last values array: its name and value.
        public func forEachValue(_ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void) {
            guard valueCount != nil else { return }
            var name: UnsafeRawBufferPointer?
            ResponseTexts.walk(log, from: valuesStart) { tag, bytes, _ in
                switch tag {
                case .name: name = bytes
                case .value:
                    if let name, let bytes { body(name, bytes) }
                    name = nil
                default: break
                }
            }
        }
    }

    /// Calls `body` with every entry from `offset`: its tag, its bytes (`nil` for null; for a
    /// values entry, empty when an array starts and `nil` when there is none) and where it starts.
    static func walk(_ raw: UnsafeRawBufferPointer, from start: Int, _ body: (Tag, UnsafeRawBufferPointer?, Int) -> Void) {
        var offset = start
        while offset < raw.count {
            let entryStart = offset
            guard let tag = Tag(rawValue: raw[offset]) else { return }
            offset += 1
            var marker = 0
            var shift = 0
            while offset < raw.count, shift < 63 {
                let byte = raw[offset]
                offset += 1
                marker |= Int(byte & 0x7F) << shift
                if byte < 0x80 { break }
                shift += 7
            }
            if tag == .values {
                body(tag, marker == 0 ? nil : UnsafeRawBufferPointer(start: raw.baseAddress, count: 0), entryStart)
                continue
            }
            if marker == 0 {
                body(tag, nil, entryStart)
                continue
            }
            let length = marker - 1
            guard length <= raw.count - offset else { return }
            body(tag, UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + length)]), entryStart)
            offset += length
        }
    }

    /// Reads the texts in one pass.
    public func withParts<Result>(_ body: (Parts) throws -> Result) rethrows -> Result {
        try log.withUnsafeBytes { raw in
            var messageId: UnsafeRawBufferPointer?
            var bfid: UnsafeRawBufferPointer?
            var valueCount: Int?
            var valuesStart = raw.count
            Self.walk(raw, from: 0) { tag, bytes, start in
                switch tag {
                case .messageId: messageId = bytes
                case .bfid: bfid = bytes
                case .values:
                    valueCount = bytes == nil ? nil : 0
                    valuesStart = start
                case .value: if valueCount != nil { valueCount! += 1 }
                case .name: break
                }
            }
            return try body(Parts(messageId: messageId, bfid: bfid, valueCount: valueCount, log: raw, valuesStart: valuesStart))
        }
    }

    var messageId: String? { withParts { $0.messageId.map { String(decoding: $0, as: UTF8.self) } } }
    var bfid: String? { withParts { $0.bfid.map { String(decoding: $0, as: UTF8.self) } } }

    var values: [FieldValue]? {
        withParts { parts in
            guard let count = parts.valueCount else { return nil }
            var values: [FieldValue] = []
            values.reserveCapacity(count)
            parts.forEachValue { name, value in
                values.append(FieldValue(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self)))
            }
            return values
        }
    }

    /// Texts that say exactly this, in the canonical order.
    init(messageId: String?, bfid: String?, values: [FieldValue]?) {
        if messageId != nil { append(.messageId, messageId) }
        if bfid != nil { append(.bfid, bfid) }
        if let values {
            startValues(present: true)
            for value in values {
                append(.name, value.name)
                append(.value, value.value)
            }
        }
    }
}
