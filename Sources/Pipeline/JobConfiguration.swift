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

        public init() {}
    }

    public struct Output: Sendable, Hashable, Codable {
        public var path: String?
        public var rejects: String?
        /// Name of the appended bfid column (CSV) or key (NDJSON). Default `bfid`.
        public var bfidColumn: String?

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

    public var endpoint: String?
    /// `tokenize` (default), `detokenize` or `read`.
    public var action: String?
    public var templateRef: String?
    public var omit: Bool?
    public var store: Bool?
    public var input: Input?
    public var output: Output?
    public var instructions: [Instruction]?
    public var logSettings: LogSettings?

    public init() {}

    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func load(path: String) throws -> JobConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadError(description: "cannot read the job file \(path)")
        }
        do {
            return try JSONDecoder().decode(JobConfiguration.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw LoadError(description: "\(path): missing '\(key.stringValue)' at \(Self.describe(context.codingPath))")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw LoadError(description: "\(path): wrong type at \(Self.describe(context.codingPath)): \(context.debugDescription)")
        } catch let DecodingError.dataCorrupted(context) {
            throw LoadError(description: "\(path): \(context.debugDescription) at \(Self.describe(context.codingPath))")
        } catch {
            throw LoadError(description: "\(path): \(error)")
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
        case let other?: throw LoadError(description: "delimiter '\(other)' is not one of , tab | ;")
        }
    }
}

/// The ORCA masking patterns, for the places where a value must be shown.
public enum MaskingPattern: String, Sendable, Hashable, Codable, CaseIterable {
    case all
    case fourPlainFourMasked
    case allButFirstSixLastFour
    case allButFirstOneLastFour

    /// `value` masked with `*`.
    public func apply(to value: String) -> String {
        let characters = Array(value)
        let count = characters.count
        func keep(_ index: Int) -> Bool {
            switch self {
            case .all: false
            case .fourPlainFourMasked: (index / 4) % 2 == 0
            case .allButFirstSixLastFour: count > 10 && (index < 6 || index >= count - 4)
            case .allButFirstOneLastFour: count > 5 && (index < 1 || index >= count - 4)
            }
        }
        return String(characters.enumerated().map { keep($0.offset) ? $0.element : "*" })
    }
}
