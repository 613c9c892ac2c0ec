import Foundation

/// The project's own files, for tests that use `samples/` or run its scripts.
public enum ProjectFiles {
    /// The folder that holds `Package.swift`.
    public static var root: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL.path
    }
}
