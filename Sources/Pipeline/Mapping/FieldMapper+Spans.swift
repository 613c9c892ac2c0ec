import ShieldConex

extension FieldMapper {
    /// The spans (UTF-8 byte ranges of `text`) of instruction `ordinal`'s tokens, from the
    /// record's spans column (``MappedRecord/spansText(of:count:tokenLength:)``); `nil` when the
    /// column is missing or malformed, or a span leaves the text, or spans overlap.
    static func spans(in record: InputRecord, at locator: Locator, ordinal: Int, count: Int, text: String) -> [Range<Int>]? {
        let column: String
        switch (locator, record.content) {
        case (.csvColumn(let index), .csv(let fields)) where index < fields.count:
            column = fields[index].value(in: record.bytes)
        case (.json(let path), .json(let root)):
            guard case .string(let value, _)? = root.node(at: path) else { return nil }
            column = value
        default:
            return nil
        }
        let segments = column.split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count == count, ordinal < count else { return nil }
        var spans: [Range<Int>] = []
        let length = text.utf8.count
        for pair in segments[ordinal].split(separator: "+") {
            let parts = pair.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, let start = Int(parts[0]), let size = Int(parts[1]), start >= (spans.last?.upperBound ?? 0), size >= 0,
                size <= length - start
            else { return nil }
            spans.append(start..<(start + size))
        }
        return spans
    }

    static func normalized(_ value: String) -> String {
        String(value.unicodeScalars.filter { $0 != " " && $0 != "-" }.map(Character.init))
    }
}
