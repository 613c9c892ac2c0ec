/// What a table's mapped columns must be, checked before a row is read: there, and of a type
/// whose values are text (a card number in a `bigint` or a `date` is no value the service takes,
/// and no token can be written back into it); `json`/`jsonb` for a `jsonpath` reaching into them.
enum MappedColumnTypes {
    /// Whether a column of `type` (as `format_type` gives it) holds any text.
    static func holdsText(_ type: String) -> Bool {
        type == "text" || type == "json" || type == "jsonb" || type.hasPrefix("character varying") || type.hasPrefix("character(")
            || type == "character" || type == "citext"
    }

    /// Refuses a mapping that names a column `relation` lacks, or one of a type that holds no text.
    static func check(_ instructions: [Instruction], types: [String: String], relation: String) throws {
        for instruction in instructions {
            guard let column = TableDestination.mappedColumns([instruction]).first else { continue }
            guard let type = types[column] else {
                throw PostgresSettings.Failure("the mapping names \(column), which \(relation) has no column of (a column's name as it is stored: its case matters)")
            }
            let json = type == "json" || type == "jsonb"
            guard holdsText(type), instruction.transformationType != .jsonpath || json || instruction.transformationPath == "$." + column else {
                throw PostgresSettings.Failure(
                    "the mapped column \(column) of \(relation) is \(type): card data is text (a jsonpath reaches into json or jsonb). "
                        + "Map text columns, or read the table through a view that casts it (CREATE VIEW … AS SELECT …, \(column)::text AS \(column) …)"
                )
            }
        }
    }

    /// Whether rows can be read as CSV lines of text (``TableReader/Shape/fields``): every
    /// instruction takes a whole column (`key`) of a type that is text, not JSON.
    static func fitFields(_ instructions: [Instruction], types: [String: String]) -> Bool {
        instructions.allSatisfy { instruction in
            guard instruction.transformationType == .key, let type = types[instruction.transformationPath] else { return false }
            return holdsText(type) && type != "json" && type != "jsonb"
        }
    }
}
