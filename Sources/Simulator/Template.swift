import Foundation

/// A ShieldConex template as the simulator knows it: its fields and detokenization rules.
public struct Template: Sendable, Hashable {
    /// How a field's values are tokenized.
    public enum FieldKind: String, Sendable, Hashable, Codable {
        /// 12-19 digits; the token keeps the first six and the last four.
        case cardNumber
        /// Digits only; the token is digits of the same length.
        case digits
        /// ASCII letters and digits; each character keeps its class (digit, lower, upper).
        case alphanumeric
        /// Any text; ASCII letters and digits are replaced within their class, everything else is kept.
        case text
    }

    public struct Field: Sendable, Hashable {
        public var name: String
        public var kind: FieldKind
    }

    public var templateRef: String
    public var name: String?
    public var fields: [String: Field]
    /// Tokens of an irreversible template can never be detokenized.
    public var irreversible: Bool
    /// Detokenization is allowed from tokenization time + `activeFrom` ...
    public var activeFrom: ISO8601Duration?
    /// ... until tokenization time + `activeTo`.
    public var activeTo: ISO8601Duration?
    /// Keys allowed to use this template; `nil` allows every accepted key. Others get 8004.
    public var allowedKeys: Set<String>?
}

/// The templates a simulator serves, read from a JSON file (`samples/templates.json`).
public struct TemplateSet: Sendable {
    /// A templates file the simulator refuses (``kind``), in words.
    public struct LoadError: Error, Hashable, Sendable, CustomStringConvertible {
        public enum Kind: Sendable, Hashable {
            /// The file cannot be read.
            case unreadable
            /// Not a templates file (JSON of the wrong shape).
            case malformed
            /// A template whose reference is empty, too long, or given twice, or that has no fields.
            case invalidTemplate
        }
        public var kind: Kind
        public var description: String
    }

    public private(set) var templates: [String: Template]

    public init(_ templates: [Template]) {
        self.templates = Dictionary(templates.map { ($0.templateRef, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public subscript(templateRef: String) -> Template? { templates[templateRef] }

    private struct FileFormat: Decodable {
        struct TemplateEntry: Decodable {
            var templateRef: String
            var name: String?
            var irreversible: Bool?
            var activeFrom: String?
            var activeTo: String?
            var allowedKeys: [String]?
            var fields: [FieldEntry]
        }
        struct FieldEntry: Decodable {
            var name: String
            var kind: Template.FieldKind
        }
        var templates: [TemplateEntry]
    }

    /// Parses the JSON text of a templates file.
    public init(json data: Data, source: String = "templates") throws {
        let file: FileFormat
        do {
            file = try JSONDecoder().decode(FileFormat.self, from: data)
        } catch {
            throw LoadError(kind: .malformed, description: "\(source): not a valid templates file: \(error)")
        }
        var templates: [Template] = []
        var seen = Set<String>()
        for entry in file.templates {
            guard !entry.templateRef.isEmpty, entry.templateRef.count <= 255 else {
                throw LoadError(kind: .invalidTemplate, description: "\(source): templateRef must be 1-255 characters")
            }
            guard seen.insert(entry.templateRef).inserted else {
                throw LoadError(kind: .invalidTemplate, description: "\(source): templateRef \(entry.templateRef) appears twice")
            }
            guard !entry.fields.isEmpty else {
                throw LoadError(kind: .invalidTemplate, description: "\(source): template \(entry.templateRef) has no fields")
            }
            var fields: [String: Template.Field] = [:]
            for field in entry.fields {
                guard fields[field.name] == nil else {
                    throw LoadError(kind: .invalidTemplate, description: "\(source): template \(entry.templateRef) has field \(field.name) twice")
                }
                fields[field.name] = Template.Field(name: field.name, kind: field.kind)
            }
            let activeFrom = try entry.activeFrom.map { text in
                do { return try ISO8601Duration(parsing: text) } catch {
                    throw LoadError(kind: .invalidTemplate, description: "\(source): template \(entry.templateRef) activeFrom: \(error)")
                }
            }
            let activeTo = try entry.activeTo.map { text in
                do { return try ISO8601Duration(parsing: text) } catch {
                    throw LoadError(kind: .invalidTemplate, description: "\(source): template \(entry.templateRef) activeTo: \(error)")
                }
            }
            if let activeFrom, let activeTo {
                let origin = Date(timeIntervalSince1970: 0)
                guard activeTo.added(to: origin) > activeFrom.added(to: origin) else {
                    throw LoadError(kind: .invalidTemplate, description: "\(source): template \(entry.templateRef): activeTo must be greater than activeFrom")
                }
            }
            templates.append(
                Template(
                    templateRef: entry.templateRef, name: entry.name, fields: fields,
                    irreversible: entry.irreversible ?? false, activeFrom: activeFrom, activeTo: activeTo,
                    allowedKeys: entry.allowedKeys.map(Set.init)
                )
            )
        }
        self.init(templates)
    }

    /// Reads a templates file.
    public static func load(path: String) throws -> TemplateSet {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadError(kind: .unreadable, description: "cannot read the templates file \(path)")
        }
        return try TemplateSet(json: data, source: path)
    }

    /// The templates shipped with the tool (the same as `samples/templates.json`).
    public static var builtIn: TemplateSet {
        // The built-in text is known to be valid; a test keeps it equal to samples/templates.json.
        try! TemplateSet(json: Data(BuiltInTemplates.json.utf8), source: "built-in templates")
    }
}
