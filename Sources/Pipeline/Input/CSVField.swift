/// One field of a CSV record: where its raw bytes are in the record, quotes included.
public struct CSVField: Sendable, Hashable {
    /// The raw bytes of the field within ``InputRecord/bytes``, quotes included.
    public var range: Range<Int>
    /// Whether the field was written in quotes.
    public var quoted: Bool

    /// The field's text: quotes removed and doubled quotes undone.
    public func value(in bytes: [UInt8]) -> String {
        guard quoted else { return String(decoding: bytes[range], as: UTF8.self) }
        let inner = bytes[(range.lowerBound + 1)..<(range.upperBound - 1)]
        guard inner.contains(UInt8(ascii: "\"")) else { return String(decoding: inner, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(inner.count)
        var skipNext = false
        for byte in inner {
            if skipNext {
                skipNext = false
                continue
            }
            out.append(byte)
            if byte == UInt8(ascii: "\"") { skipNext = true }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The header row of a CSV file: column names, raw bytes and line ending, kept for the output.
public struct CSVHeader: Sendable, Hashable {
    public var names: [String]
    public var bytes: [UInt8]
    public var ending: LineEnding
    /// Where the first data record starts (after the BOM and the header line).
    public var dataStart: RecordPosition
    /// Whether the file began with a UTF-8 byte-order mark.
    public var hasByteOrderMark: Bool

    public func index(of column: String) -> Int? { names.firstIndex(of: column) }

    /// The columns for a message: a file without a header row makes its first data row the
    /// header, so a cell is shown only when it looks like a name (no digit, short), otherwise
    /// by its position (`#3`). A card number, an expiry, a CVV never reach stderr this way.
    public var describedColumns: String {
        names.enumerated().map { index, name in
            Self.looksLikeAName(name) ? name : "#\(index + 1)"
        }.joined(separator: ", ")
    }

    static func looksLikeAName(_ cell: String) -> Bool {
        !cell.isEmpty && cell.utf8.count <= 64 && !cell.unicodeScalars.contains { $0.properties.numericType != nil }
    }
}
