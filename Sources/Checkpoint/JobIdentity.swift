import Foundation

/// What makes a job the same job: a resume is only allowed when all of this matches.
/// Never holds the API key or any record value.
public struct JobIdentity: Sendable, Hashable, Codable {
    public var action: String
    /// The endpoint's name (`local`, `cert`, a URL), never the key.
    public var endpoint: String
    public var templateRef: String
    public var inputPath: String
    public var input: InputFingerprint
    /// The mapping and the options that change the output, as canonical JSON text.
    public var mapping: String
    public var options: [String: String]

    public init(action: String, endpoint: String, templateRef: String, inputPath: String, input: InputFingerprint, mapping: String, options: [String: String]) {
        self.action = action
        self.endpoint = endpoint
        self.templateRef = templateRef
        self.inputPath = inputPath
        self.input = input
        self.mapping = mapping
        self.options = options
    }

    /// Every way `other` differs from this identity, in words; empty when they match.
    public func differences(from other: JobIdentity) -> [String] {
        var found: [String] = []
        if action != other.action { found.append("action: checkpoint has \(action), this run \(other.action)") }
        if endpoint != other.endpoint { found.append("endpoint: checkpoint has \(endpoint), this run \(other.endpoint)") }
        if templateRef != other.templateRef { found.append("templateRef: checkpoint has \(templateRef), this run \(other.templateRef)") }
        if inputPath != other.inputPath { found.append("input path: checkpoint has \(inputPath), this run \(other.inputPath)") }
        if input.size != other.input.size { found.append("input size: checkpoint has \(input.size) bytes, the file now has \(other.input.size)") }
        if input.digest != other.input.digest { found.append("input content: the file's first or last MiB changed") }
        // A new mtime alone (same size and hashed content) is a touched file, not another input.
        if mapping != other.mapping { found.append("mapping: checkpoint has \(mapping), this run \(other.mapping)") }
        for key in Set(options.keys).union(other.options.keys).sorted() where options[key] != other.options[key] {
            found.append("option \(key): checkpoint has \(options[key] ?? "unset"), this run \(other.options[key] ?? "unset")")
        }
        return found
    }

    func encoded() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    static func decoded(_ text: String) throws -> JobIdentity {
        try JSONDecoder().decode(JobIdentity.self, from: Data(text.utf8))
    }
}
