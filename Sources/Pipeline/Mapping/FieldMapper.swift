import ShieldConex

/// Applies the mapping instructions to records: finds each value, applies the per-field
/// options, and says where each token goes. Validated once, before any record is read.
public struct FieldMapper: @unchecked Sendable {
    // Regex is not Sendable; the mapper never mutates its compiled patterns.
    enum Locator {
        case csvColumn(Int)
        case json(JSONPath)

        /// Where it reads, whatever the spelling (`$.a.b` and `$['a']['b']` are one place).
        var place: [JSONPath.Component] {
            switch self {
            case .csvColumn(let index): [.index(index)]
            case .json(let path): path.components
            }
        }
    }

    /// A class: walking the instructions for every record then retains one reference each,
    /// instead of copying every string and regex an instruction holds. Immutable (see above on
    /// Regex not being Sendable).
    final class Compiled: @unchecked Sendable {
        let instruction: Instruction
        let locator: Locator
        let pattern: Regex<AnyRegexOutput>?
        // What each record needs of the instruction, read without copying the instruction (its
        // strings) or the optional regex (a retain and release each per field and record).
        let hasPattern: Bool
        let fieldName: String
        let normalizeDigits: Bool
        let skipEmpty: Bool
        let luhnCheck: Bool
        /// A regex instruction whose matches the tokenize job filtered (luhnCheck): its ordinal
        /// among them, by which its tokens' spans are recorded (``FieldMapper/Reading``).
        var spanOrdinal: Int?

        init(instruction: Instruction, locator: Locator, pattern: Regex<AnyRegexOutput>? = nil) {
            self.instruction = instruction
            self.locator = locator
            self.pattern = pattern
            hasPattern = pattern != nil
            fieldName = instruction.fieldName
            normalizeDigits = instruction.normalizeDigits == true
            skipEmpty = instruction.skipEmpty == true
            luhnCheck = instruction.luhnCheck == true
        }
    }

    /// What the mapper reads: the values of a record to tokenize, or the tokens of a tokenized
    /// record (detokenize, read, verify). Tokens are found where the values were, but need not
    /// pass the values' checks; where a regex's matches were filtered (luhnCheck), a number the
    /// tokenize job left alone is not a token, so the tokens are taken from the spans the
    /// tokenize job recorded in `spansColumn` (never by running the regex again).
    public enum Reading: Sendable {
        case values
        case tokens(spansColumn: String)
    }

    /// The column (key) where a tokenize job records the spans of the tokens of its filtered
    /// regex matches: the bfid column's name with `_spans`.
    public static func spansColumn(bfidColumn: String) -> String { bfidColumn + "_spans" }

    let format: InputFormat
    let compiled: [Compiled]
    /// Regex instructions with luhnCheck: a tokenize job records their tokens' spans.
    public let spanInstructions: Int
    /// Where the spans are read (tokens reading with span instructions).
    let spansLocator: Locator?
    public let instructions: [Instruction]
    /// For CSV mapped by whole columns (no regex): where every value's token goes, one target per
    /// instruction. Every record that skips none of them shares this array (an allocation per
    /// record saved); a whole-value target needs no copy of its original text.
    let sharedTargets: [MappedRecord.Target]?
    /// Whether an empty value is a target like any other (read jobs fill empty columns).
    public var acceptsEmpty = false

    /// Checks the instructions against the input format (and the CSV header) and compiles them.
    public init(instructions original: [Instruction], format: InputFormat, header: CSVHeader?, reading: Reading = .values) throws(MappingError) {
        guard !original.isEmpty else { throw MappingError(.noMapping, "no mapping: give --map COLUMN=FIELD or instructions in the job file") }
        let filtered = original.map { $0.transformationType == .regex && $0.luhnCheck == true }
        let instructions: [Instruction]
        if case .tokens = reading { instructions = original.map(\.forTokens) } else { instructions = original }
        var seenFields = Set<String>()
        var seenPlaces: [[JSONPath.Component]: String] = [:]
        var compiled: [Compiled] = []
        for (number, instruction) in zip(1..., instructions) {
            let label = "instruction \(number) (\(instruction.transformationType.rawValue) '\(instruction.transformationPath)')"
            guard !instruction.fieldName.isEmpty else { throw MappingError(.invalidInstruction, "\(label): fieldName is empty") }
            guard seenFields.insert(instruction.fieldName).inserted else {
                throw MappingError(.mappedTwice, "\(label): field '\(instruction.fieldName)' is mapped twice")
            }
            func locate(_ text: String) throws(MappingError) -> Locator {
                switch format {
                case .csv:
                    if text.hasPrefix("$") { throw MappingError(.invalidInstruction, "\(label): a JSONPath does not apply to CSV input; name a column") }
                    guard let header, let index = header.index(of: text) else {
                        let columns = header?.describedColumns ?? ""
                        throw MappingError(.unknownColumn, "\(label): no column '\(text)' in the header (columns: \(columns))\(header?.dataLikeHint ?? "")")
                    }
                    // A second column of the same name would pass through in plaintext.
                    let occurrences = header.names.reduce(0) { $0 + ($1 == text ? 1 : 0) }
                    guard occurrences == 1 else {
                        throw MappingError(.ambiguousColumn, "\(label): the header has \(occurrences) columns named '\(text)'; rename them so that each is mapped or kept on purpose")
                    }
                    return .csvColumn(index)
                case .ndjson:
                    if text.hasPrefix("$") {
                        do { return .json(try JSONPath(parsing: text)) } catch { throw MappingError(.invalidInstruction, "\(label): \(error)") }
                    }
                    return .json(JSONPath(key: text))
                }
            }
            switch instruction.transformationType {
            case .key:
                if instruction.transformationPath.hasPrefix("$"), format == .ndjson {
                    throw MappingError(.invalidInstruction, "\(label): 'key' takes a top-level key; use 'jsonpath' for a path")
                }
                compiled.append(Compiled(instruction: instruction, locator: try locate(instruction.transformationPath)))
            case .jsonpath:
                guard format == .ndjson else { throw MappingError(.invalidInstruction, "\(label): 'jsonpath' applies to NDJSON input only") }
                guard instruction.transformationPath.hasPrefix("$") else { throw MappingError(.invalidInstruction, "\(label): a JSONPath starts with $") }
                compiled.append(Compiled(instruction: instruction, locator: try locate(instruction.transformationPath)))
            case .regex:
                guard let source = instruction.source else {
                    throw MappingError(.invalidInstruction, "\(label): 'regex' needs 'source', the column or key whose text is searched")
                }
                let pattern: Regex<AnyRegexOutput>
                do {
                    pattern = try Regex(instruction.transformationPath)
                } catch {
                    throw MappingError(.invalidInstruction, "\(label): not a valid regular expression: \(error)")
                }
                compiled.append(Compiled(instruction: instruction, locator: try locate(source), pattern: pattern))
            }
            // Two instructions that read one place would both write their tokens there: one
            // would be lost (CSV) or the splices would overlap (NDJSON).
            let place = compiled[compiled.count - 1].locator.place
            if let earlier = seenPlaces[place] {
                throw MappingError(.mappedTwice, "\(label) reads the same place as \(earlier); map each column or path once")
            }
            seenPlaces[place] = label
        }
        var ordinal = 0
        for index in compiled.indices where filtered[index] {
            compiled[index].spanOrdinal = ordinal
            ordinal += 1
        }
        spanInstructions = ordinal
        if case .tokens(let column) = reading, ordinal > 0 {
            switch format {
            case .csv:
                guard let index = header?.index(of: column) else {
                    throw MappingError(
                        .unknownColumn,
                        "the input has no column '\(column)': a regex mapping with luhnCheck is detokenized by the spans of its tokens, which the "
                            + "tokenize job records there (a file tokenized by an earlier version has none: a number the tokenize job left alone "
                            + "cannot be told from a token; tokenize it again, or give a mapping without luhnCheck whose pattern matches only tokens)"
                    )
                }
                spansLocator = .csvColumn(index)
            case .ndjson:
                spansLocator = .json(JSONPath(key: column))
            }
        } else {
            spansLocator = nil
        }
        self.format = format
        self.compiled = compiled
        self.instructions = instructions
        var shared: [MappedRecord.Target]? = []
        for (index, entry) in compiled.enumerated() {
            guard case .csvColumn(let column) = entry.locator, entry.pattern == nil else {
                shared = nil
                break
            }
            shared?.append(.init(location: .csvField(column), original: "", wholeValueIndex: index))
        }
        sharedTargets = shared
    }

    /// The values to send for `record` and where their tokens go, or why the record is rejected.
    /// The values are written into `buffer` (emptied first, its capacity kept): the values array
    /// of a record already written serves the next one.
    public func map(_ record: InputRecord, reusing buffer: consuming [FieldValue] = []) -> Result<MappedRecord, RecordError> {
        var values = buffer
        values.removeAll(keepingCapacity: true)
        var targets: [MappedRecord.Target] = []
        values.reserveCapacity(compiled.count)
        // Whole CSV columns: the shared targets, unless a value is skipped (then its own).
        var sharing = sharedTargets != nil
        if !sharing { targets.reserveCapacity(compiled.count) }
        var repeatsNames = false
        for position in compiled.indices {
            let entry = compiled[position]
            let found: (location: MappedRecord.Target.Location, text: String)
            switch (entry.locator, record.content) {
            case (.csvColumn(let index), .csv(let fields)):
                found = (.csvField(index), fields[index].value(in: record.bytes))
            case (.json(let path), .json(let root)):
                let lookup = root.lookup(path)
                if case .duplicated(let key) = lookup {
                    // One occurrence tokenized and the other passed through would leave card data in the output.
                    return .failure(RecordError(.duplicateKey, "the record holds key '\(key)' more than once (for field \(entry.fieldName))"))
                }
                guard case .found(let node) = lookup else {
                    if entry.skipEmpty {
                        Self.stopSharing(&sharing, &targets, sharedTargets, before: position)
                        continue
                    }
                    return .failure(RecordError(.missingValue, "no value at \(path) for field \(entry.fieldName)"))
                }
                switch node {
                case .string(let text, let range): found = (.json(range), text)
                case .scalar(let text, let range) where text != "null" && text != "true" && text != "false":
                    found = (.json(range), text)
                case .scalar("null", _) where entry.skipEmpty:
                    Self.stopSharing(&sharing, &targets, sharedTargets, before: position)
                    continue
                default:
                    return .failure(RecordError(.notAString, "the value at \(path) for field \(entry.fieldName) is not a string or number"))
                }
            case (_, .invalid(let error)):
                return .failure(error)
            default:
                return .failure(RecordError(.missingValue, "the record does not fit the mapping"))
            }
            if let ordinal = entry.spanOrdinal, let spansLocator {
                // The tokens where the tokenize job put them, and nothing else.
                guard let spans = Self.spans(in: record, at: spansLocator, ordinal: ordinal, count: spanInstructions, text: found.text) else {
                    return .failure(RecordError(.missingValue, "the record's token spans for field \(entry.fieldName) are missing or do not fit its text"))
                }
                let bytes = Array(found.text.utf8)
                var pieces: [(range: Range<Int>, valueIndex: Int)] = []
                for span in spans {
                    guard let value = String(validating: bytes[span], as: UTF8.self) else {
                        return .failure(RecordError(.missingValue, "a token span for field \(entry.fieldName) cuts a character"))
                    }
                    pieces.append((span, values.count))
                    values.append(FieldValue(name: entry.fieldName, value: value))
                }
                if !pieces.isEmpty { targets.append(.init(location: found.location, original: found.text, matches: pieces)) }
                if pieces.count > 1 { repeatsNames = true }
                continue
            }
            if entry.hasPattern, let pattern = entry.pattern {
                var pieces: [(range: Range<Int>, valueIndex: Int)] = []
                let text = found.text
                for match in text.matches(of: pattern) {
                    var value = String(text[match.range])
                    if entry.normalizeDigits { value = Self.normalized(value) }
                    if value.isEmpty { continue }
                    if entry.luhnCheck, !Luhn.isValid(value) { continue }
                    let lower = text.utf8.distance(from: text.startIndex, to: match.range.lowerBound)
                    let upper = text.utf8.distance(from: text.startIndex, to: match.range.upperBound)
                    pieces.append((lower..<upper, values.count))
                    values.append(FieldValue(name: entry.fieldName, value: value))
                }
                if !pieces.isEmpty {
                    var target = MappedRecord.Target(location: found.location, original: text, matches: pieces)
                    target.spanOrdinal = entry.spanOrdinal
                    targets.append(target)
                }
                if pieces.count > 1 { repeatsNames = true }
                continue
            }
            var value = found.text
            if entry.normalizeDigits { value = Self.normalized(value) }
            if value.isEmpty && !acceptsEmpty {
                if entry.skipEmpty {
                    Self.stopSharing(&sharing, &targets, sharedTargets, before: position)
                    continue
                }
                return .failure(RecordError(.missingValue, "field \(entry.fieldName) is empty"))
            }
            if entry.luhnCheck, !Luhn.isValid(value) {
                return .failure(RecordError(.luhnCheckFailed, "field \(entry.fieldName) fails the Luhn check"))
            }
            if !sharing { targets.append(.init(location: found.location, original: found.text, wholeValueIndex: values.count)) }
            values.append(FieldValue(name: entry.fieldName, value: value))
        }
        if sharing, let sharedTargets { targets = sharedTargets }
        return .success(MappedRecord(record: record, values: values, targets: targets, repeatsNames: repeatsNames))
    }

    /// A value is skipped: the record gets targets of its own, starting with the shared ones
    /// before it (until the first skip, instruction `position` made value `position`). The state
    /// is passed in, not captured: a nested function's captured variables are checked for
    /// exclusive access at run time on every use.
    private static func stopSharing(
        _ sharing: inout Bool, _ targets: inout [MappedRecord.Target], _ sharedTargets: [MappedRecord.Target]?, before position: Int
    ) {
        guard sharing, let sharedTargets else { return }
        sharing = false
        targets = Array(sharedTargets[..<position])
    }
}
