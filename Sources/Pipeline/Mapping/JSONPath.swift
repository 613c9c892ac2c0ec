/// A path into a JSON record, in the JSONPath subset that field mapping needs:
/// `$.card.number`, `$.cards[0].pan`, `$['card holder']`, `$["x"]`.
public struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    public enum Component: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    /// A path that does not parse: what is wrong (``kind``), and in words.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public enum Kind: Sendable, Hashable {
            /// Not a JSONPath.
            case syntax
            /// A JSONPath outside the subset (a wildcard).
            case unsupported
            /// `$` alone: the whole record is no field.
            case wholeRecord
        }
        public var kind: Kind
        public var description: String
    }

    public var components: [Component]
    public let text: String

    /// A path of one top-level key.
    public init(key: String) {
        components = [.key(key)]
        text = "$['\(key.replacingOccurrences(of: "'", with: "\\'"))']"
    }

    public init(parsing text: String) throws {
        self.text = text
        var characters = Array(text)
        guard characters.first == "$" else { throw ParseError(kind: .syntax, description: "JSONPath '\(text)' must start with $") }
        characters.removeFirst()
        var components: [Component] = []
        var i = 0
        func fail(_ reason: String, _ kind: ParseError.Kind = .syntax) -> ParseError { ParseError(kind: kind, description: "JSONPath '\(text)': \(reason)") }
        while i < characters.count {
            if characters[i] == "." {
                i += 1
                let start = i
                while i < characters.count, characters[i] != ".", characters[i] != "[" { i += 1 }
                guard i > start else { throw fail("empty name after '.'") }
                let name = String(characters[start..<i])
                guard name != "*" else { throw fail("wildcards are not supported", .unsupported) }
                components.append(.key(name))
            } else if characters[i] == "[" {
                i += 1
                guard i < characters.count else { throw fail("unclosed '['") }
                if characters[i] == "'" || characters[i] == "\"" {
                    let quote = characters[i]
                    i += 1
                    var name = ""
                    while i < characters.count, characters[i] != quote {
                        if characters[i] == "\\", i + 1 < characters.count {
                            i += 1
                        }
                        name.append(characters[i])
                        i += 1
                    }
                    guard i < characters.count else { throw fail("unclosed quote") }
                    i += 1
                    guard i < characters.count, characters[i] == "]" else { throw fail("expected ']'") }
                    i += 1
                    components.append(.key(name))
                } else {
                    guard characters[i] != "*" else { throw fail("wildcards are not supported", .unsupported) }
                    let start = i
                    while i < characters.count, characters[i].isNumber { i += 1 }
                    guard i > start, i < characters.count, characters[i] == "]", let index = Int(String(characters[start..<i])) else {
                        throw fail("expected an array index or a quoted name in []")
                    }
                    i += 1
                    components.append(.index(index))
                }
            } else {
                throw fail("unexpected '\(characters[i])'")
            }
        }
        guard !components.isEmpty else { throw fail("the path selects the whole record", .wholeRecord) }
        self.components = components
    }

    public var description: String { text }
}
