import Foundation

/// A file in a fresh temporary folder, removed by `remove()`.
struct TempFile {
    let url: URL
    var path: String { url.path }

    init(_ contents: String, name: String = "input") throws {
        try self.init(bytes: Array(contents.utf8), name: name)
    }

    init(bytes: [UInt8], name: String = "input") throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
    }

    func remove() { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
}
