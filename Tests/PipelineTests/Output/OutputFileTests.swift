import Foundation
import Testing

@testable import Pipeline
import TestSupport

@Suite struct OutputFileTests {
    @Test func writesCountOffsetsAndTruncateOnReopen() throws {
        let file = try TempFile("")
        defer { file.remove() }
        var output: OutputFile? = try OutputFile(path: file.path, bufferLimit: 8)
        try output!.write(Array("hello ".utf8))
        try output!.write(Array("world\n".utf8))
        #expect(output!.offset == 12)
        try output!.sync()
        let identity = output!.identity
        output = nil  // closed, and its lock released
        #expect(String(decoding: try Data(contentsOf: file.url), as: UTF8.self) == "hello world\n")
        // Reopening at a committed offset drops what came after it.
        let resumed = try OutputFile(path: file.path, resumeAt: 6, expected: identity)
        try resumed.write(Array("there\n".utf8))
        try resumed.sync()
        #expect(resumed.offset == 12)
        #expect(String(decoding: try Data(contentsOf: file.url), as: UTF8.self) == "hello there\n")
    }

    @Test func newFilesAreCreatedPrivate() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("out-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("new.csv").path
        let output = try OutputFile(path: path)
        try output.sync()
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    /// A resumed output that was deleted, cut short or replaced is refused, never padded with
    /// zero bytes (`ftruncate` extends a file: a deleted output came back as megabytes of NUL).
    @Test func aResumedFileMustBeTheSameAndLongEnough() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("out-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("out.csv").path
        var first: OutputFile? = try OutputFile(path: path)
        try first!.write(Array(repeating: UInt8(ascii: "x"), count: 100))
        try first!.sync()
        let identity = first!.identity
        first = nil

        try FileManager.default.removeItem(atPath: path)
        let missing = #expect(throws: OutputFile.IOError.self) { try OutputFile(path: path, resumeAt: 100, expected: identity) }
        #expect(missing?.description.contains("--restart") == true)
        #expect(!FileManager.default.fileExists(atPath: path), "nothing is created in its place")

        try Data(repeating: 0x79, count: 40).write(to: URL(fileURLWithPath: path))
        let short = #expect(throws: OutputFile.IOError.self) { try OutputFile(path: path, resumeAt: 100, expected: nil) }
        #expect(short?.description.contains("fewer than the 100") == true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).count == 40, "left as it was")

        // Another file at the same path (the old one kept, so its inode cannot be reused).
        let other = directory.appendingPathComponent("other.csv").path
        let original = try OutputFile(path: other)
        try original.write(Array(repeating: UInt8(ascii: "y"), count: 100))
        try original.sync()
        let originalIdentity = original.identity
        try FileManager.default.moveItem(atPath: path, toPath: directory.appendingPathComponent("kept.csv").path)
        try Data(repeating: 0x7A, count: 200).write(to: URL(fileURLWithPath: path))
        let replaced = #expect(throws: OutputFile.IOError.self) { try OutputFile(path: path, resumeAt: 100, expected: originalIdentity) }
        #expect(replaced?.description.contains("replaced") == true)
    }

    /// Plaintext never lands in a loose or foreign file: a symlink is not followed, an existing
    /// file is set to 0600 before the first byte, and two runs cannot write one file.
    @Test func existingFilesAreMadePrivateLockedAndNeverReachedThroughASymlink() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("out-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("plain.csv").path
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        let output = try OutputFile(path: path)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
        let second = #expect(throws: OutputFile.IOError.self) { try OutputFile(path: path) }
        #expect(second?.description.contains("another run") == true)
        _ = output

        let target = directory.appendingPathComponent("target.csv").path
        try Data("keep".utf8).write(to: URL(fileURLWithPath: target))
        let link = directory.appendingPathComponent("link.csv").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let symlink = #expect(throws: OutputFile.IOError.self) { try OutputFile(path: link) }
        #expect(symlink?.description.contains("symbolic link") == true)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep")
        // Devices are written as they are.
        #expect(throws: Never.self) { try OutputFile(path: "/dev/null") }
    }

    @Test func maskingPatterns() {
        #expect(MaskingPattern.allButFirstSixLastFour.apply(to: "4000001234567899") == "400000******7899")
        #expect(MaskingPattern.allButFirstOneLastFour.apply(to: "4000001234567899") == "4***********7899")
        #expect(MaskingPattern.all.apply(to: "123") == "***")
        #expect(MaskingPattern.fourPlainFourMasked.apply(to: "4000001234567899") == "4000****3456****")
        #expect(MaskingPattern.allButFirstSixLastFour.apply(to: "1234") == "****")
    }
}
