import Foundation
import Testing

@testable import Pipeline
import TestSupport

/// The gzip output: a sync ends a member, a flush hands out what is deflated; a point is the
/// file's length where one was made, and a file cut back to one (its open member closed) and
/// written on reads, with GNU gzip, as the lines written in one go.
@Suite struct GzipOutputFileTests {
    static func lines(_ range: Range<Int>) -> [UInt8] {
        Array(range.map { "C\($0),tok_\($0 * 7919 % 100_003),\($0 % 12 + 1)/30\n" }.joined().utf8)
    }

    @Test func aSyncEndsAMemberThatGzipReads() throws {
        let file = try TempFile("")
        defer { file.remove() }
        let output = try GzipOutputFile(file: try OutputFile(path: file.path, bufferLimit: 4096))
        try output.write(Self.lines(0..<1_000))
        try output.sync()
        let first = output.offset
        let firstLength = try output.fileOffset(of: first)
        #expect(first == Int64(Self.lines(0..<1_000).count))
        // The file up to the sync is a whole gzip file.
        let prefix = Array(try Data(contentsOf: file.url))
        #expect(Int64(prefix.count) == firstLength)
        #expect(try GzipTool.decompress(prefix) == Self.lines(0..<1_000))
        try output.write(Self.lines(1_000..<3_000))
        try output.sync()
        #expect(try GzipTool.decompress(Array(try Data(contentsOf: file.url))) == Self.lines(0..<3_000))
        // A sync with nothing new adds no member, and its point is the last one's.
        try output.sync()
        #expect(try output.fileOffset(of: output.offset) == Int64(try Data(contentsOf: file.url).count))
        // Only points where the file was flushed have a length in it.
        #expect(throws: OutputFile.IOError.self) { try output.fileOffset(of: first + 1) }
    }

    /// Killed after a flush between two syncs: the file ends inside a member. Taken up there, the
    /// member is closed, and the file written on reads as one write.
    @Test func aFileCutBackToAFlushPointIsClosedAndWrittenOn() throws {
        let file = try TempFile("")
        defer { file.remove() }
        var output: GzipOutputFile? = try GzipOutputFile(file: try OutputFile(path: file.path))
        try output!.write(Self.lines(0..<500))
        try output!.sync()
        let memberStart = try output!.fileOffset(of: output!.offset)
        try output!.write(Self.lines(500..<700))
        try output!.flush()
        try output!.write(Self.lines(700..<900))
        try output!.flush()
        let flushed = try output!.fileOffset(of: output!.offset)
        let identity = output!.identity
        // Deflated past the point, not flushed: a kill leaves whatever zlib had handed out.
        try output!.write(Self.lines(900..<5_000))
        output = nil
        // Not whole gzip where it was flushed (the member is open)...
        let cut = Array(try Data(contentsOf: file.url).prefix(Int(flushed)))
        #expect(throws: GzipTool.Failure.self) { try GzipTool.decompress(cut) }
        // ...until it is closed.
        let resumed = try GzipOutputFile(file: try OutputFile(path: file.path, resumeAt: flushed, expected: identity), memberStart: memberStart)
        #expect(resumed.offset == flushed + 10)
        #expect(try GzipTool.decompress(Array(try Data(contentsOf: file.url))) == Self.lines(0..<900))
        try resumed.write(Self.lines(900..<2_000))
        try resumed.sync()
        #expect(try GzipTool.decompress(Array(try Data(contentsOf: file.url))) == Self.lines(0..<2_000))
        // Our own reader takes the members as one stream too.
        let reader = try ChunkedFileReader(path: file.path)
        while try reader.refill(keepingFrom: 0) {}
        #expect(Array(reader.bytes[0..<reader.count]) == Self.lines(0..<2_000))
    }

    /// Taken up at a member's end (a commit point), nothing needs closing.
    @Test func aFileCutBackToAMemberEndIsWrittenOn() throws {
        let file = try TempFile("")
        defer { file.remove() }
        var output: GzipOutputFile? = try GzipOutputFile(file: try OutputFile(path: file.path))
        try output!.write(Self.lines(0..<500))
        try output!.sync()
        let committed = try output!.fileOffset(of: output!.offset)
        let identity = output!.identity
        try output!.write(Self.lines(500..<900))
        try output!.flush()
        output = nil
        let resumed = try GzipOutputFile(file: try OutputFile(path: file.path, resumeAt: committed, expected: identity), memberStart: committed)
        #expect(resumed.offset == committed)
        try resumed.write(Self.lines(500..<1_000))
        try resumed.sync()
        #expect(try GzipTool.decompress(Array(try Data(contentsOf: file.url))) == Self.lines(0..<1_000))
    }

    /// The points committed are forgotten before, kept from (a frozen commit point is submitted again).
    @Test func aCommittedPointStaysKnownUntilALaterOneIsCommitted() throws {
        let file = try TempFile("")
        defer { file.remove() }
        let output = try GzipOutputFile(file: try OutputFile(path: file.path))
        try output.write(Self.lines(0..<10))
        try output.sync()
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
