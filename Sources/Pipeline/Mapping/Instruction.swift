/// One mapping instruction in the ORCA vocabulary: where a value is (`transformationType` +
/// `transformationPath`) and which template field it is tokenized as (`fieldName`), plus the
/// per-field options of a migration job.
public struct Instruction: Sendable, Hashable, Codable {
    public enum TransformationType: String, Sendable, Hashable, Codable {
        /// A CSV column name, or a top-level NDJSON key.
        case key
        /// A path into an NDJSON record, e.g. `$.card.number`.
        case jsonpath
        /// Every match of a pattern inside the text of `source` (a column, a key or a path).
        case regex
    }

    public var transformationType: TransformationType
    public var transformationPath: String
    public var fieldName: String
    /// For `regex`: the column (CSV), or the key or `$` path (NDJSON) whose text is searched.
    public var source: String?
    /// An empty value is not sent; the record goes through with the field untouched.
    public var skipEmpty: Bool?
    /// Spaces and dashes are removed before sending; the token is written in the cleaned form.
    public var normalizeDigits: Bool?
    /// The value must pass the Luhn check: a failing `key`/`jsonpath` value rejects the record
    /// locally; a failing `regex` match is left as it is.
    public var luhnCheck: Bool?

    public init(
        _ type: TransformationType, _ path: String, fieldName: String, source: String? = nil,
        skipEmpty: Bool? = nil, normalizeDigits: Bool? = nil, luhnCheck: Bool? = nil
    ) {
        self.transformationType = type
        self.transformationPath = path
        self.fieldName = fieldName
        self.source = source
        self.skipEmpty = skipEmpty
        self.normalizeDigits = normalizeDigits
        self.luhnCheck = luhnCheck
    }

    /// A `--map` that does not parse: what is wrong (``kind``), and in words.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public enum Kind: Sendable, Hashable {
            /// Not `LOCATION=FIELD[:OPTIONS]`, or a part of it empty.
            case syntax
            /// An option that is none of `luhn`, `digits`, `skip-empty`.
            case unknownOption
        }
        public var kind: Kind
        public var description: String
    }

    /// Parses the command line's short form `COLUMN=FIELD` or `$.path=FIELD`, optionally followed
    /// by `:` and options separated by commas: `luhn`, `digits` (normalise), `skip-empty`.
    public init(shortForm text: String) throws {
        guard let equals = text.lastIndex(of: "=") else {
            throw ParseError(kind: .syntax, description: "--map '\(text)': expected COLUMN=FIELD or '$.path=FIELD'")
        }
        let location = String(text[..<equals])
        var field = String(text[text.index(after: equals)...])
        var options: [Substring] = []
        if let colon = field.firstIndex(of: ":") {
            options = field[field.index(after: colon)...].split(separator: ",")
            field = String(field[..<colon])
        }
        guard !location.isEmpty, !field.isEmpty else {
            throw ParseError(kind: .syntax, description: "--map '\(text)': both the location and the field name are needed")
        }
        self.init(location.hasPrefix("$") ? .jsonpath : .key, location, fieldName: field)
        for option in options {
            switch option {
            case "luhn": luhnCheck = true
            case "digits": normalizeDigits = true
            case "skip-empty": skipEmpty = true
            default: throw ParseError(kind: .unknownOption, description: "--map '\(text)': unknown option '\(option)' (luhn, digits, skip-empty)")
            }
        }
    }
}

extension Instruction {
    /// The instruction for finding tokens where it found values: tokens need not pass the
    /// value checks (Luhn) and are already normalized.
    public var forTokens: Instruction {
        var relaxed = self
        relaxed.luhnCheck = nil
        relaxed.normalizeDigits = nil
        return relaxed
    }
}
