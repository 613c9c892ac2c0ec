import ShieldConex

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
    /// Whether the file has a header row (`--no-header`: the names are positions, `#1`, `#2`, ...;
    /// the first row is data, and the output has no header row either).
    public var isPresent = true

    public func index(of column: String) -> Int? { names.firstIndex(of: column) }

    /// The columns for a message: a file without a header row makes its first data row the
    /// header, so a cell is shown only when it looks like a name (no digit, short), otherwise
    /// by its position (`#3`). A card number, an expiry, a CVV never reach stderr this way.
    /// A header row that looks like data (a headerless file) is shown by positions only: one of
    /// its cells that looks like a name may be a cardholder's.
    public var describedColumns: String {
        let data = !isPresent || looksLikeData
        return names.enumerated().map { index, name in
            !data && Self.looksLikeAName(name) ? name : "#\(index + 1)"
        }.joined(separator: ", ")
    }

    /// Whether the header row looks like a data record: a cell with a Luhn-valid run of 12 to
    /// 19 digits, or half its cells or more mostly digits.
    public var looksLikeData: Bool {
        var digitCells = 0
        for name in names {
            let digits = name.utf8.filter { $0 &- UInt8(ascii: "0") < 10 }.count
            let compact = name.utf8.filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "-") }
            if (12...19).contains(digits), digits == compact.count, Luhn.isValid(String(decoding: compact, as: UTF8.self)) { return true }
            if digits * 2 > name.utf8.count { digitCells += 1 }
        }
        return !names.isEmpty && digitCells * 2 >= names.count
    }

    /// For a message about a header that looks like data.
    public var dataLikeHint: String {
        looksLikeData
            ? "; the first row looks like data, not a header: for a file without a header row give --no-header (or \"header\": false in the job file's input) and map columns by position, e.g. --map '#2=card_number'"
            : ""
    }

    static func looksLikeAName(_ cell: String) -> Bool {
        !cell.isEmpty && cell.utf8.count <= 64 && !cell.unicodeScalars.contains { $0.properties.numericType != nil }
    }
}
