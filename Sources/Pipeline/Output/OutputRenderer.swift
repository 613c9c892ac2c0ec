import Checkpoint
import ShieldConex

/// Renders output lines: the input record with tokens in place and a bfid appended, keeping
/// every untouched byte as it came in (CSV quoting, JSON key order and spacing, line endings).
public struct OutputRenderer: Sendable {
    public let format: InputFormat
    public let delimiter: UInt8
    public let bfidColumn: String
    public let header: CSVHeader?
    /// Whether the bfid is written (tokenize); detokenize and read jobs keep the input's bfid as it is.
    public let writesBfid: Bool
    /// With regex instructions that have luhnCheck (`spanInstructions` of them), a tokenize job
    /// writes where their tokens are (``MappedRecord/spansText(of:count:tokenLength:)``) in this
    /// column (key) after the bfid: a detokenize job reads them there.
    public let spansColumn: String?
    let spanInstructions: Int
    /// A retokenize job's: the bfid column keeps its place and gets the new bfid, and this
    /// column (key), appended, gets the old one as it was written in the input.
    public let oldBfidColumn: String?
    /// With ``oldBfidColumn``, a CSV input's bfid column.
    let bfidIndex: Int?

    /// Fails when a CSV header already has a column named `bfidColumn` (or the spans column)
    /// and `writesBfid` is set.
    public init(
        format: InputFormat, header: CSVHeader?, delimiter: UInt8 = UInt8(ascii: ","), bfidColumn: String = "bfid", writesBfid: Bool = true,
        spanInstructions: Int = 0, oldBfidColumn: String? = nil
    ) throws(MappingError) {
        if let oldBfidColumn, oldBfidColumn == bfidColumn || oldBfidColumn.isEmpty {
            throw MappingError(.columnTaken, "the old bfid column must be named, and not as the bfid column '\(bfidColumn)'")
        }
        var bfidIndex: Int?
        if let oldBfidColumn, format == .csv {
            guard let index = header?.index(of: bfidColumn) else {
                throw MappingError(.unknownColumn, "bfid column '\(bfidColumn)' is not in the header (columns: \(header?.describedColumns ?? ""))")
            }
            if header?.index(of: oldBfidColumn) != nil {
                throw MappingError(.columnTaken, "the input already has a column '\(oldBfidColumn)'; choose another name for the old bfid column")
            }
            bfidIndex = index
        }
        if writesBfid, format == .csv, header?.index(of: bfidColumn) != nil {
            throw MappingError(.columnTaken, "the input already has a column '\(bfidColumn)'; choose another name for the bfid column")
        }
        let spans = writesBfid && spanInstructions > 0 ? FieldMapper.spansColumn(bfidColumn: bfidColumn) : nil
        if let spans, format == .csv, header?.index(of: spans) != nil {
            throw MappingError(.columnTaken, "the input already has a column '\(spans)'; choose another name for the bfid column")
        }
        self.format = format
        self.header = header
        self.delimiter = delimiter
        self.bfidColumn = bfidColumn
        self.writesBfid = writesBfid
        self.spansColumn = spans
        self.spanInstructions = spanInstructions
        self.oldBfidColumn = oldBfidColumn
        self.bfidIndex = bfidIndex
    }

    /// The first output line for CSV (the input's header with the bfid column); empty for NDJSON.
    public func headerLine() -> [UInt8] {
        // (An input without a header row gives an output without one.)
        guard format == .csv, let header, header.isPresent else { return [] }
        var out = header.bytes
        if writesBfid {
            out.append(delimiter)
            CSVEncoding.append(bfidColumn, quoted: false, delimiter: delimiter, to: &out)
        }
        if let spansColumn {
            out.append(delimiter)
            CSVEncoding.append(spansColumn, quoted: false, delimiter: delimiter, to: &out)
        }
        if let oldBfidColumn {
            out.append(delimiter)
            CSVEncoding.append(oldBfidColumn, quoted: false, delimiter: delimiter, to: &out)
        }
        out.append(contentsOf: header.ending.bytes)
        return out
    }

    /// Appends the output line for `mapped` with `tokens` (one per value, in order) and `bfid`.
    public func render(_ mapped: MappedRecord, tokens: [String], bfid: String, into out: inout [UInt8]) {
        render(mapped, texts: ResultTexts(bfid: bfid, messageId: nil, values: tokens), into: &out)
    }

    /// Appends the output line for `mapped` with the values (one per mapped value, in order) and
    /// the bfid of `texts` (none: an empty bfid column), written from their bytes.
    public func render(_ mapped: MappedRecord, texts: ResultTexts, into out: inout [UInt8]) {
        let record = mapped.record
        let ending = record.ending == .none ? (header?.ending ?? .lf) : record.ending
        switch (format, record.content) {
        case (.csv, .csv(let fields)):
            let targets = mapped.targets
            // The texts' layout read once for the line.
            texts.withRanges { bytes, bfid, values in
                let value = { (index: Int) in
                    index < values.count ? UnsafeRawBufferPointer(rebasing: bytes[values[index]]) : UnsafeRawBufferPointer(start: nil, count: 0)
                }
                for (index, field) in fields.enumerated() {
                    if index > 0 { out.append(delimiter) }
                    // A handful of targets: a scan, not a dictionary per record (the last one wins).
                    var replacedBy: Int?
                    for position in targets.indices {
                        if case .csvField(index) = targets[position].location { replacedBy = position }
                    }
                    if let replacedBy {
                        targets[replacedBy].withRendered(value) { CSVEncoding.append($0, quoted: field.quoted, delimiter: delimiter, to: &out) }
                    } else if index == bfidIndex {
                        CSVEncoding.append(UnsafeRawBufferPointer(rebasing: bytes[bfid]), quoted: field.quoted, delimiter: delimiter, to: &out)
                    } else {
                        out.append(contentsOf: record.bytes[field.range])
                    }
                }
                if writesBfid {
                    out.append(delimiter)
                    CSVEncoding.append(UnsafeRawBufferPointer(rebasing: bytes[bfid]), quoted: false, delimiter: delimiter, to: &out)
                }
                if spansColumn != nil {
                    out.append(delimiter)
                    let spans = MappedRecord.spansText(of: targets, count: spanInstructions) { index in index < values.count ? values[index].count : 0 }
                    CSVEncoding.append(spans, quoted: false, delimiter: delimiter, to: &out)
                }
                if let bfidIndex {
                    // The old bfid as the input wrote it (its quotes too).
                    out.append(delimiter)
                    if bfidIndex < fields.count { out.append(contentsOf: record.bytes[fields[bfidIndex].range]) }
                }
            }
        case (.ndjson, .json(let root)):
            var splices: [(range: Range<Int>, text: [UInt8])] = []
            for target in mapped.targets {
                if case .json(let range) = target.location {
                    splices.append((range, target.withRendered(texts) { Self.jsonString($0) }))
                }
            }
            splices.sort { $0.range.lowerBound < $1.range.lowerBound }
            let close = root.range.upperBound - 1  // the object's closing brace
            guard case .object(let members, _) = root else { return }
            let oldBfid = oldBfidColumn == nil ? nil : members.last(where: { $0.key == bfidColumn }).map { Array(record.bytes[$0.value.range]) }
            if let oldBfidColumn, let oldBfid, let existing = members.last(where: { $0.key == oldBfidColumn }) {
                // A record that holds the old bfid's key already gets its value replaced.
                splices.append((existing.value.range, oldBfid))
                splices.sort { $0.range.lowerBound < $1.range.lowerBound }
            }
            if writesBfid || oldBfidColumn != nil, let existing = members.last(where: { $0.key == bfidColumn }) {
                // A record that already has the key gets its value replaced, not a second key
                // (unless a token goes there: a mapped bfid key is refused at configuration,
                // and a token is never given up for the bfid).
                let range = existing.value.range
                if !splices.contains(where: { $0.range.overlaps(range) }) {
                    splices.append((range, texts.withBfid { Self.jsonString($0) }))
                    splices.sort { $0.range.lowerBound < $1.range.lowerBound }
                }
            }
            var cursor = 0
            for splice in splices {
                // Splices that overlap (never made by a mapping that passed its checks) replace
                // the union of their ranges: no byte of a mapped value stays, and nothing traps.
                let upper = min(splice.range.upperBound, close)
                guard upper > cursor || splice.range.isEmpty && splice.range.lowerBound >= cursor else { continue }
                let lower = min(max(cursor, splice.range.lowerBound), upper)
                out.append(contentsOf: record.bytes[cursor..<lower])
                out.append(contentsOf: splice.text)
                cursor = upper
            }
            out.append(contentsOf: record.bytes[cursor..<close])
            var hasMembers = !members.isEmpty
            if writesBfid, !members.contains(where: { $0.key == bfidColumn }) {
                if hasMembers { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: Self.jsonString(bfidColumn))
                out.append(UInt8(ascii: ":"))
                out.append(contentsOf: texts.withBfid { Self.jsonString($0) })
                hasMembers = true
            }
            if let oldBfidColumn, let oldBfid, !members.contains(where: { $0.key == oldBfidColumn }) {
                if hasMembers { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: Self.jsonString(oldBfidColumn))
                out.append(UInt8(ascii: ":"))
                out.append(contentsOf: oldBfid)
                hasMembers = true
            }
            if let spansColumn {
                // (A record that holds the key already is refused by the mapping's checks.)
                var spans = ""
                texts.withRanges { _, _, values in
                    spans = MappedRecord.spansText(of: mapped.targets, count: spanInstructions) { index in index < values.count ? values[index].count : 0 }
                }
                if hasMembers { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: Self.jsonString(spansColumn))
                out.append(UInt8(ascii: ":"))
                out.append(contentsOf: Self.jsonString(spans))
            }
            out.append(contentsOf: record.bytes[close...])
        default:
            // Invalid records never reach a writer: they go to the rejects file.
            return
        }
        out.append(contentsOf: ending.bytes)
    }

    static func jsonString(_ text: String) -> [UInt8] {
        var writer = JSONWriter(capacity: text.utf8.count + 8)
        writer.string(text)
        return writer.bytes
    }

    static func jsonString(_ utf8: UnsafeRawBufferPointer) -> [UInt8] {
        var writer = JSONWriter(capacity: utf8.count + 8)
        writer.string(utf8: utf8)
        return writer.bytes
    }
}
