import Foundation
import Testing

@testable import Pipeline
import TestSupport

/// The gzip output: every flush ends a member, a point is the file's length at a member's end,
/// and a file cut back to one and written on reads, with GNU gzip, as the lines written in one go.
@Suite struct GzipOutputFileTests {
    static func lines(_ range: Range<Int>) -> [UInt8] {
        Array(range.map { "C\($0),tok_\($0 * 7919 % 100_003),\($0 % 12 + 1)/30\n" }.joined().utf8)
    }

    @Test func everyFlushEndsAMemberThatGzipReads() throws {
        let file = try TempFile("")
        defer { file.remove() }
        let output = try GzipOutputFile(file: try OutputFile(path: file.path, bufferLimit: 4096))
        try output.write(Self.lines(0..<1_000))
        try output.flush()
        let first = output.offset
        let firstLength = try output.fileOffset(of: first)
        #expect(first == Int64(Self.lines(0..<1_000).count))
        // The file up to the flush is a whole gzip file already.
        let prefix = Array(try Data(contentsOf: file.url))
        #expect(Int64(prefix.count) == firstLength)
        #expect(try GzipTool.decompress(prefix) == Self.lines(0..<1_000))
        try output.write(Self.lines(1_000..<3_000))
        try output.sync()
        #expect(try GzipTool.decompress(Array(try Data(contentsOf: file.url))) == Self.lines(0..<3_000))
        // A flush with nothing new adds no member, and its point is the last one's.
        try output.flush()
        #expect(try output.fileOffset(of: output.offset) == Int64(try Data(contentsOf: file.url).count))
        // Only points that ended a member have a length in the file.
        #expect(throws: OutputFile.IOError.self) { try output.fileOffset(of: first + 1) }
    }

    @Test func aFileCutBackToAMemberEndAndWrittenOnReadsAsOneWrite() throws {
        let file = try TempFile("")
        defer { file.remove() }
        var output: GzipOutputFile? = try GzipOutputFile(file: try OutputFile(path: file.path))
        try output!.write(Self.lines(0..<500))
        try output!.flush()
        let committed = try output!.fileOffset(of: output!.offset)
        let identity = output!.identity
        // Written past the point, not committed: a kill leaves part of a member behind it.
        try output!.write(Self.lines(500..<900))
        try output!.flush()
        try output!.write(Self.lines(900..<950))
        output = nil
        let resumed = try GzipOutputFile(file: try OutputFile(path: file.path, resumeAt: committed, expected: identity))
        #expect(resumed.offset == committed)
        try resumed.write(Self.lines(500..<2_000))
        try resumed.sync()
        #expect(try GzipTool.decompress(Array(try Data(contentsOf: file.url))) == Self.lines(0..<2_000))
        // Our own reader takes the members as one stream too.
        let reader = try ChunkedFileReader(path: file.path)
        while try reader.refill(keepingFrom: 0) {}
        #expect(Array(reader.bytes[0..<reader.count]) == Self.lines(0..<2_000))
    }

    /// The points committed are forgotten before, kept from (a frozen commit point is submitted again).
    @Test func aCommittedPointStaysKnownUntilALaterOneIsCommitted() throws {
        let file = try TempFile("")
        defer { file.remove() }
        let output = try GzipOutputFile(file: try OutputFile(path: file.path))
        try output.write(Self.lines(0..<10))
        try output.flush()
        let point = output.offset
        output.committed(through: point)
        try output.write(Self.lines(10..<20))
        try output.flush()
        #expect(try output.fileOffset(of: point) > 0)
        output.committed(through: output.offset)
        #expect(throws: OutputFile.IOError.self) { try output.fileOffset(of: point) }
    }

    @Test func outputsResumedUnderTheOtherCompressionAreRefused() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        // Plain lines under a .gz name, and gzip under a plain one.
        try Data(Self.lines(0..<10)).write(to: URL(fileURLWithPath: folder.path("plain.csv.gz")))
        try Data(try GzipTool.compress(Self.lines(0..<10))).write(to: URL(fileURLWithPath: folder.path("gzip.csv")))
        for (name, message) in [("plain.csv.gz", "holds no gzip"), ("gzip.csv", "holds gzip")] {
            let error = #expect(throws: OutputFile.IOError.self) {
                _ = try OutputCompression.open(path: folder.path(name), resumeAt: 20, expected: nil)
            }
            #expect(error?.description.contains(message) == true, "\(error.map { "\($0)" } ?? "")")
        }
        // Fresh, the name chooses.
        #expect(try OutputCompression.open(path: folder.path("new.csv.gz"), resumeAt: nil, expected: nil).sink is GzipOutputFile)
        #expect(try OutputCompression.open(path: folder.path("new.csv"), resumeAt: nil, expected: nil).sink is OutputFile)
    }
}
