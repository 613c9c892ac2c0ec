import Checkpoint
import Foundation
import Testing

@testable import Pipeline
import TestSupport

/// The gzip output, deflated by zlib or libdeflate: a sync ends a member, a flush hands out what
/// is deflated (libdeflate: ends a member too); a point is the file's length where one was made,
/// and a file cut back to one (its open member closed) and written on reads, with GNU gzip, as the
/// lines written in one go.
@Suite struct GzipOutputFileTests {
    static let deflaters: [GzipOutputFile.Deflater] = [.zlib, .libdeflate]

    /// A new gzip output at `path`, and its file's identity (to resume it by).
    static func open(_ path: String, deflater: GzipOutputFile.Deflater) throws -> (GzipOutputFile, FileIdentity) {
        let file = try OutputFile(path: path)
        return (try GzipOutputFile(file: file, deflater: deflater), file.identity)
    }

    /// The machines we run on have libdeflate (`libdeflate0`): the faster path is the one tested.
    @Test func libdeflateIsFound() {
        #expect(Libdeflate.shared != nil, "libdeflate.so.0 not found: apt-get install libdeflate0")
        #expect(GzipOutputFile.Deflater.preferred == .libdeflate)
    }

    static func lines(_ range: Range<Int>) -> [UInt8] {
        Array(range.map { "C\($0),tok_\($0 * 7919 % 100_003),\($0 % 12 + 1)/30\n" }.joined().utf8)
    }

    @Test(arguments: deflaters) func aSyncEndsAMemberThatGzipReads(deflater: GzipOutputFile.Deflater) throws {
        let file = try TempFile("")
        defer { file.remove() }
        let output = try GzipOutputFile(file: try OutputFile(path: file.path, bufferLimit: 4096), deflater: deflater)
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

    /// Written by zlib and killed after a flush between two syncs: the file ends inside a member.
    /// Taken up there (by either library), the member is closed, and the file written on reads as
    /// one write.
    @Test(arguments: deflaters) func aFileCutBackToAFlushPointIsClosedAndWrittenOn(resumedWith deflater: GzipOutputFile.Deflater) throws {
        let file = try TempFile("")
        defer { file.remove() }
        var (output, identity): (GzipOutputFile?, FileIdentity) = try Self.open(file.path, deflater: .zlib)
        try output!.write(Self.lines(0..<500))
        try output!.sync()
        let memberStart = try output!.fileOffset(of: output!.offset)
        try output!.write(Self.lines(500..<700))
        try output!.flush()
        try output!.write(Self.lines(700..<900))
        try output!.flush()
        let flushed = try output!.fileOffset(of: output!.offset)
        // Deflated past the point, not flushed: a kill leaves whatever zlib had handed out.
        try output!.write(Self.lines(900..<5_000))
        output = nil
        // Not whole gzip where it was flushed (the member is open)...
        let cut = Array(try Data(contentsOf: file.url).prefix(Int(flushed)))
        #expect(throws: GzipTool.Failure.self) { try GzipTool.decompress(cut) }
        // ...until it is closed.
        let resumed = try GzipOutputFile(
            file: try OutputFile(path: file.path, resumeAt: flushed, expected: identity), deflater: deflater, memberStart: memberStart
        )
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
    @Test(arguments: deflaters) func aFileCutBackToAMemberEndIsWrittenOn(deflater: GzipOutputFile.Deflater) throws {
        let file = try TempFile("")
        defer { file.remove() }
        var (output, identity): (GzipOutputFile?, FileIdentity) = try Self.open(file.path, deflater: deflater)
        try output!.write(Self.lines(0..<500))
        try output!.sync()
        let committed = try output!.fileOffset(of: output!.offset)
        try output!.write(Self.lines(500..<900))
        try output!.flush()
        output = nil
        let resumed = try GzipOutputFile(
            file: try OutputFile(path: file.path, resumeAt: committed, expected: identity), deflater: deflater, memberStart: committed
        )
        #expect(resumed.offset == committed)
        try resumed.write(Self.lines(500..<1_000))
        try resumed.sync()
        #expect(try GzipTool.decompress(Array(try Data(contentsOf: file.url))) == Self.lines(0..<1_000))
    }

    /// With libdeflate every flush ends a member: the file is whole gzip at every point, members
    /// of the commit (sync) and the point before it (taken up from the commit point's member
    /// start: nothing to close) read as the lines; lines kept past the largest member are deflated
    /// without a point; the engine is asked for points 256 KB apart.
    @Test func libdeflatePointsEndMembers() throws {
        let file = try TempFile("")
        defer { file.remove() }
        var (output, identity): (GzipOutputFile?, FileIdentity) = try Self.open(file.path, deflater: .libdeflate)
        #expect(output!.pointSpacing == 256 * 1024)
        try output!.write(Self.lines(0..<500))
        try output!.sync()
        let committed = try output!.fileOffset(of: output!.offset)
        try output!.write(Self.lines(500..<900))
        try output!.flush()
        let flushed = try output!.fileOffset(of: output!.offset)
        #expect(try GzipTool.decompress(Array(try Data(contentsOf: file.url))) == Self.lines(0..<900))
        // Lines kept, not flushed: a kill loses them (they are past the point).
        try output!.write(Self.lines(900..<1_000))
        output = nil
        let resumed = try GzipOutputFile(
            file: try OutputFile(path: file.path, resumeAt: flushed, expected: identity), deflater: .libdeflate, memberStart: committed
        )
        #expect(resumed.offset == flushed)
        // More than the largest member without a point: written out all the same.
        var written = 900
        while resumed.offset - flushed <= Int64(WholeMemberDeflater.largestMember) {
            try resumed.write(Self.lines(written..<written + 1_000))
            written += 1_000
        }
        #expect(try Data(contentsOf: file.url).count > Int(flushed))
        try resumed.sync()
        #expect(try GzipTool.decompress(Array(try Data(contentsOf: file.url))) == Self.lines(0..<written))
    }

    /// A file with nothing in it holds one empty member (a gzip reader takes it as empty).
    @Test(arguments: deflaters) func anEmptyFileIsOneEmptyMember(deflater: GzipOutputFile.Deflater) throws {
        let file = try TempFile("")
        defer { file.remove() }
        let output = try GzipOutputFile(file: try OutputFile(path: file.path), deflater: deflater)
        try output.sync()
        let bytes = Array(try Data(contentsOf: file.url))
        #expect(bytes.count >= 20)
        #expect(try GzipTool.decompress(bytes).isEmpty)
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
