import Foundation

/// A job file (`--config job.json`), shaped after the ORCA configuration: the endpoint, the
/// action with its templateRef and instructions, the input and output, and log settings.
/// Command-line options override what it says.
public struct JobConfiguration: Sendable, Hashable, Codable {
    public struct Input: Sendable, Hashable, Codable {
        public var path: String?
        public var format: InputFormat?
        /// One character: `,` (default), `\t` (or `tab`), `|`, `;`.
        public var delimiter: String?
        /// A column (CSV) or key / `$` path (NDJSON) that identifies a record in the rejects file.
        public var idColumn: String?
        /// CSV: whether the first row names the columns (default true). Without one, columns are
        /// named by position, `#1`, `#2`, ... (`--map '#2=card_number'`), and the output has none.
        public var header: Bool?
        /// With `path` `-` (standard input): the name the job is known by (`--input-name`).
        public var name: String?

        public init() {}
    }

    public struct Output: Sendable, Hashable, Codable {
        public var path: String?
        public var rejects: String?
        /// Name of the appended bfid column (CSV) or key (NDJSON). Default `bfid`.
        public var bfidColumn: String?
        /// A retokenize job's appended column (key) for each record's old bfid. Default `old_bfid`.
        public var oldBfidColumn: String?

        public init() {}
    }

    public struct Mask: Sendable, Hashable, Codable {
        public var transformationType: Instruction.TransformationType?
        public var transformationPath: String?
        public var pattern: MaskingPattern
    }

    public struct LogSettings: Sendable, Hashable, Codable {
        public var requestMasks: [Mask]?
        public var responseMasks: [Mask]?
    }

    /// The pattern that masks card numbers wherever this tool shows text: the request mask on
    /// the card-number field (the one mapped with `luhnCheck`, or else one whose path names a
    /// card number or PAN), else ORCA's default for card numbers, `allButFirstSixLastFour`.
    public var cardNumberPattern: MaskingPattern {
        let masks = logSettings?.requestMasks ?? []
        let luhnPaths = Set((instructions ?? []).filter { $0.luhnCheck == true }.map(\.transformationPath))
        if let mask = masks.first(where: { $0.transformationPath.map(luhnPaths.contains) ?? false }) { return mask.pattern }
        let cardNames = ["card_number", "cardnumber", "card-number", "pan", "account_number"]
        if let mask = masks.first(where: { mask in
            let path = (mask.transformationPath ?? "").lowercased()
            return cardNames.contains { path == $0 || path.hasSuffix("." + $0) || path.hasSuffix("['" + $0 + "']") }
        }) {
            return mask.pattern
        }
        return .allButFirstSixLastFour
    }

    public var endpoint: String?
    /// `tokenize` (default), `detokenize`, `read` or `retokenize`.
    public var action: String?
    public var templateRef: String?
    /// A retokenize job's old template, whose tokens it detokenizes (`--from-template`).
    public var fromTemplateRef: String?
    public var omit: Bool?
    public var store: Bool?
    /// Tokenize each distinct record's values once (``BatchJob/Configuration/dedup``).
    public var dedup: Bool?
    /// `false`: the template does not give the same token for the same value (a deduplicating
    /// job is refused). The documents describe token idempotency; a template the operator knows
    /// to be otherwise is marked here.
    public var templateIdempotent: Bool?
    public var input: Input?
    public var output: Output?
    public var instructions: [Instruction]?
    public var logSettings: LogSettings?

    public init() {}

    /// A job file that cannot be used: what is wrong (``kind``), and where, in words.
    public struct LoadError: Error, Hashable, Sendable, CustomStringConvertible {
        public enum Kind: Sendable, Hashable {
            /// The file cannot be read.
            case unreadable
            /// Empty, or larger than a job file can be (the wrong file).
            case empty, tooLarge
            /// Not JSON, or a setting missing, of the wrong type or out of its values.
            case malformed
        }
        public var kind: Kind
        public var description: String
    }

    /// Job files are small; a larger one is a mistake (the wrong file), not a job.
    static let maximumSize = 1 << 20

    public static func load(path: String) throws -> JobConfiguration {
        // An empty file is refused before Foundation reads it (reading an empty file leaks 4 KiB
        // in FoundationEssentials: found by Fuzz/FuzzJobFile), a huge one before it is read.
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue
        if size == 0 { throw LoadError(kind: .empty, description: "the job file \(path) is empty") }
        if let size, size > maximumSize { throw LoadError(kind: .tooLarge, description: "the job file \(path) is larger than 1 MiB: is it the right file?") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadError(kind: .unreadable, description: "cannot read the job file \(path)")
        }
        do {
            return try JSONDecoder().decode(JobConfiguration.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw LoadError(kind: .malformed, description: "\(path): missing '\(key.stringValue)' at \(Self.describe(context.codingPath))")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw LoadError(kind: .malformed, description: "\(path): wrong type at \(Self.describe(context.codingPath)): \(context.debugDescription)")
        } catch let DecodingError.dataCorrupted(context) {
            throw LoadError(kind: .malformed, description: "\(path): \(context.debugDescription) at \(Self.describe(context.codingPath))")
        } catch {
            throw LoadError(kind: .malformed, description: "\(path): \(error)")
        }
    }

    static func describe(_ path: [any CodingKey]) -> String {
        path.isEmpty ? "the top level" : path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }

    /// The delimiter byte of a `delimiter` setting.
    public static func delimiterByte(_ text: String?) throws -> UInt8 {
        switch text {
        case nil, ",": return UInt8(ascii: ",")
        case "\t", "tab", "\\t": return UInt8(ascii: "\t")
        case "|": return UInt8(ascii: "|")
        case ";": return UInt8(ascii: ";")
        case let other?: throw LoadError(kind: .malformed, description: "delimiter '\(other)' is not one of , tab | ;")
        }
    }
}
