import Foundation
import Testing

@testable import Pipeline

@Suite struct OutputFileTests {
    @Test func writesCountOffsetsAndTruncateOnReopen() throws {
        let file = try TempFile("")
        defer { file.remove() }
        let output = try OutputFile(path: file.path, bufferLimit: 8)
        try output.write(Array("hello ".utf8))
        try output.write(Array("world\n".utf8))
        #expect(output.offset == 12)
        try output.sync()
        #expect(String(decoding: try Data(contentsOf: file.url), as: UTF8.self) == "hello world\n")
        // Reopening at a committed offset drops what came after it.
        let resumed = try OutputFile(path: file.path, truncateTo: 6)
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

    @Test func maskingPatterns() {
        #expect(MaskingPattern.allButFirstSixLastFour.apply(to: "4000001234567899") == "400000******7899")
        #expect(MaskingPattern.allButFirstOneLastFour.apply(to: "4000001234567899") == "4***********7899")
        #expect(MaskingPattern.all.apply(to: "123") == "***")
        #expect(MaskingPattern.fourPlainFourMasked.apply(to: "4000001234567899") == "4000****3456****")
        #expect(MaskingPattern.allButFirstSixLastFour.apply(to: "1234") == "****")
    }
}
