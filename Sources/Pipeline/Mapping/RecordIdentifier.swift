/// Reads the configured id of a record (a CSV column, or an NDJSON key or `$` path), for the
/// rejects file. The id column is the user's choice and must not be a sensitive one.
public struct RecordIdentifier: Sendable {
    enum Locator: Sendable {
        case csvColumn(Int)
        case json(JSONPath)
    }

    let locator: Locator

    public init(idColumn: String, format: InputFormat, header: CSVHeader?) throws(MappingError) {
        switch format {
        case .csv:
            guard let index = header?.index(of: idColumn) else {
                throw MappingError(.unknownColumn, "id column '\(idColumn)' is not in the header (columns: \(header?.describedColumns ?? ""))")
            }
            locator = .csvColumn(index)
        case .ndjson:
            if idColumn.hasPrefix("$") {
                do { locator = .json(try JSONPath(parsing: idColumn)) } catch { throw MappingError(.invalidInstruction, "id column: \(error)") }
            } else {
                locator = .json(JSONPath(key: idColumn))
            }
        }
    }

    /// Refuses an id column that the mapping reads (a mapped column, a regex source, or a path
    /// inside or around one): its values are what the job protects, and the rejects file and
    /// the report would show them.
    public func checkNotMapped(by mapper: FieldMapper, name: String, role: String = "id column") throws(MappingError) {
        let place: [JSONPath.Component]
        switch locator {
        case .csvColumn(let index): place = [.index(index)]
        case .json(let path): place = path.components
        }
        for entry in mapper.compiled {
            let read = entry.locator.place
            if read.starts(with: place) || place.starts(with: read) {
                throw MappingError(
                    .sensitiveColumn,
                    "the \(role) '\(name)' is read by the mapping (\(entry.instruction.transformationType.rawValue) "
                        + "'\(entry.instruction.source ?? entry.instruction.transformationPath)'); choose a column that holds no sensitive value"
                )
            }
        }
    }

    /// Refuses a bfid column (key) that the mapping reads: a tokenize job would write the bfid
    /// over a token (or a token over the bfid), a detokenize job would send a value as a bfid.
    /// A CSV tokenize job's bfid column is a new one (an existing column of that name is refused
    /// by ``OutputRenderer``).
    public static func checkBfidColumn(
        _ name: String, producesBfid: Bool, format: InputFormat, header: CSVHeader?, mapper: FieldMapper
    ) throws(MappingError) {
        guard format == .ndjson || !producesBfid else { return }
        try RecordIdentifier(idColumn: name, format: format, header: header).checkNotMapped(by: mapper, name: name, role: "bfid column")
    }

    /// The id of `record`, or `nil` when the record could not be parsed or has no such value.
    public func id(of record: InputRecord) -> String? {
        switch (locator, record.content) {
        case (.csvColumn(let index), .csv(let fields)) where index < fields.count:
            return fields[index].value(in: record.bytes)
        case (.json(let path), .json(let root)):
            switch root.node(at: path) {
            case .string(let text, _)?, .scalar(let text, _)?: return text
            default: return nil
            }
        default:
            return nil
        }
    }
}
