import Foundation

/// A file in a fresh temporary folder, removed (with its folder) by `remove()`.
public struct TempFile: Sendable {
    public let url: URL
    public var path: String { url.path }

    public init(_ contents: String, name: String = "input") throws {
        try self.init(bytes: Array(contents.utf8), name: name)
    }

    public init(bytes: [UInt8], name: String = "input") throws {
        let folder = try TestFolder(prefix: "pipeline")
        url = folder.url.appendingPathComponent(name)
        try Data(bytes).write(to: url)
    }

    public func remove() { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
}
