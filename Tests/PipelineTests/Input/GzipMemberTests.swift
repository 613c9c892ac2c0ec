import Foundation
import Testing

@testable import Pipeline
import TestSupport

/// The members of a gzip file, found by inflating it once: where each starts in the file and in
/// what it inflates to; reading from a member's start at a later offset gives the bytes there.
@Suite struct GzipMemberTests {
    @Test func membersAreFoundWhereTheyStartAndReadFrom() throws {
        let folder = try TestFolder(prefix: "gzip-members")
        defer { folder.remove() }
        let plain = Array(GzipInputTests.csv(rows: 4_000).utf8)
        // Members of 30,000 bytes (cut inside records), then zero padding.
        var file: [UInt8] = []
        var expected: [GzipMember] = []
        for start in stride(from: 0, to: plain.count, by: 30_000) {
            expected.append(GzipMember(compressedOffset: Int64(file.count), inflatedOffset: Int64(start)))
            file += try GzipTool.compress(Array(plain[start..<min(plain.count, start + 30_000)]))
        }
        file += [0, 0, 0, 0]
        let path = folder.path("cards.csv.gz")
        try Data(file).write(to: URL(fileURLWithPath: path))
        let scanned = try GzipMember.scan(path: path)
        #expect(scanned.members == expected)
        #expect(scanned.inflatedSize == Int64(plain.count))
        // From each member, at an offset inside it and at one in the member after it.
        for member in expected {
            for offset in [member.inflatedOffset + 7, min(Int64(plain.count) - 1, member.inflatedOffset + 30_011)] {
                let reader = try ChunkedFileReader(path: path, offset: offset, chunkSize: 1_024, member: member)
                while reader.count < 100, try reader.refill(keepingFrom: 0) {}
                let count = min(100, plain.count - Int(offset))
                #expect(Array(reader.bytes[0..<count]) == Array(plain[Int(offset)..<(Int(offset) + count)]), "from \(member) at \(offset)")
            }
        }
        // A plain file has no members to find; a cut one is an error.
        try Data(plain).write(to: URL(fileURLWithPath: folder.path("plain.csv")))
        #expect(throws: (any Error).self) { try GzipMember.scan(path: folder.path("plain.csv")) }
        try Data(file.prefix(file.count / 2)).write(to: URL(fileURLWithPath: folder.path("cut.csv.gz")))
        #expect(throws: CompressedInputError.self) { try GzipMember.scan(path: folder.path("cut.csv.gz")) }
    }
}
