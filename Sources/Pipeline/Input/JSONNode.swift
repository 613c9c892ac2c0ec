import ShieldConex

/// A parsed JSON value that remembers where each part of it is in the source line, so that a
/// writer can replace one value in place and leave every other byte as it was.
public indirect enum JSONNode: Sendable, Hashable {
    case object([(key: String, value: JSONNode)], range: Range<Int>)
    case array([JSONNode], range: Range<Int>)
    case string(String, range: Range<Int>)
    /// A number, `true`, `false` or `null`, kept as its text.
    case scalar(String, range: Range<Int>)

    public var range: Range<Int> {
        switch self {
        case .object(_, let range), .array(_, let range), .string(_, let range), .scalar(_, let range): range
        }
    }

    /// Parses one JSON document.
    public static func parse(_ bytes: [UInt8]) throws -> JSONNode {
        try bytes.withUnsafeBytes { raw in
            var scanner = JSONScanner(raw)
            let node = try parseValue(&scanner, depth: 0)
            try scanner.expectEnd()
            return node
        }
    }

    private static func parseValue(_ scanner: inout JSONScanner, depth: Int) throws -> JSONNode {
        guard depth < 64 else { throw JSONScanner.SyntaxError(offset: scanner.index, reason: "nesting too deep") }
        let token = try scanner.peek()
        let start = scanner.index
        switch token {
        case .objectStart:
            var members: [(key: String, value: JSONNode)] = []
            try scanner.readObject { scanner, key in
                members.append((key, try parseValue(&scanner, depth: depth + 1)))
            }
            return .object(members, range: start..<scanner.index)
        case .arrayStart:
            var elements: [JSONNode] = []
            try scanner.readArray { scanner in
                elements.append(try parseValue(&scanner, depth: depth + 1))
            }
            return .array(elements, range: start..<scanner.index)
        case .string:
            let value = try scanner.readString()
            return .string(value, range: start..<scanner.index)
        case .number:
            let text = try scanner.readNumberText()
            return .scalar(String(text), range: start..<scanner.index)
        case .bool:
            let value = try scanner.readBool()
            return .scalar(value ? "true" : "false", range: start..<scanner.index)
        case .null:
            _ = try scanner.readNullIfPresent()
            return .scalar("null", range: start..<scanner.index)
        }
    }

    /// The node at `path`, or `nil` if the path leads nowhere.
    /// What a path finds: the node, nothing, or a key along the way that the object holds more
    /// than once (which of its values is meant is not clear: JSON parsers disagree).
    public enum Lookup {
        case found(JSONNode)
        case missing
        case duplicated(key: String)
    }

    public func lookup(_ path: JSONPath) -> Lookup {
        var current = self
        for component in path.components {
            switch (component, current) {
            case (.key(let key), .object(let members, _)):
                var match: JSONNode?
                for member in members where member.key == key {
                    if match != nil { return .duplicated(key: key) }
                    match = member.value
                }
                guard let match else { return .missing }
                current = match
            case (.index(let index), .array(let elements, _)):
                guard elements.indices.contains(index) else { return .missing }
                current = elements[index]
            default:
                return .missing
            }
        }
        return .found(current)
    }

    public func node(at path: JSONPath) -> JSONNode? {
        var current = self
        for component in path.components {
            switch (component, current) {
            case (.key(let key), .object(let members, _)):
                guard let member = members.last(where: { $0.key == key }) else { return nil }
                current = member.value
            case (.index(let index), .array(let elements, _)):
                guard elements.indices.contains(index) else { return nil }
                current = elements[index]
            default:
                return nil
            }
        }
        return current
    }

    public static func == (lhs: JSONNode, rhs: JSONNode) -> Bool {
        switch (lhs, rhs) {
        case (.object(let a, let ra), .object(let b, let rb)):
            ra == rb && a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.array(let a, let ra), .array(let b, let rb)): ra == rb && a == b
        case (.string(let a, let ra), .string(let b, let rb)): ra == rb && a == b
        case (.scalar(let a, let ra), .scalar(let b, let rb)): ra == rb && a == b
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(range)
    }
}
