import Checkpoint
import Foundation
import Testing

@testable import Pipeline
import TestSupport

/// A stream (standard input) read through a pipe: the records are the file's, a digest asked at a
/// record's start is the digest of exactly the bytes before it (whether they left the window long
/// ago or are still in it), and reading it again from a position drops the bytes before.
@Suite struct StreamInputTests {
    /// A pipe whose read end is handed to `body` while a thread writes `bytes` into it.
    static func withPipe<T>(_ bytes: [UInt8], _ body: (Int32) throws -> T) rethrows -> T {
        let pipe = Pipe()
        let writer = Thread {
            pipe.fileHandleForWriting.write(Data(bytes))
            try? pipe.fileHandleForWriting.close()
        }
        writer.start()
        defer { try? pipe.fileHandleForReading.close() }
        return try body(dup(pipe.fileHandleForReading.fileDescriptor))
    }

    static func digest(of bytes: ArraySlice<UInt8>) -> String {
        var digest = DigestKey.local.streamDigest()
        bytes.withUnsafeBytes { digest.append($0) }
        return digest.value
    }

    @Test func digestsAtRecordStartsAreTheDigestsOfTheBytesBefore() throws {
        let plain = Array(GzipInputTests.csv(rows: 20_000).utf8)
        let stream = try Self.withPipe(plain) { fd in
            try ChunkedFileReader(stream: fd, name: "cards", digest: DigestKey.local.streamDigest(), chunkSize: 4_096)
        }
        var reader = try CSVReader(stream: stream, name: "cards", delimiter: UInt8(ascii: ","), from: nil, hasHeader: true)
        var asked = 0
        var count = 0
        var starts: [Int64] = []
        var previous: Int64 = 0
        while let record = try reader.next() {
            starts.append(record.position.offset)
            count += 1
            // Now and then a point far behind the reader (its bytes left the 4 KiB window long
            // ago), now and then the record just read (still in the window).
            let behind = count % 1_000 == 0 ? 400 : count % 1_000 == 500 ? 1 : nil
            guard let behind else { continue }
            let offset = starts[count - behind]
            #expect(offset >= previous)
            #expect(reader.prefixDigest(through: offset) == Self.digest(of: plain[..<Int(offset)]), "at \(offset)")
            // Asked again at the same place: the same.
            #expect(reader.prefixDigest(through: offset) == Self.digest(of: plain[..<Int(offset)]))
            previous = offset
            asked += 1
        }
        #expect(count == 20_000 && asked == 40)
        let end = reader.nextPosition.offset
        #expect(reader.prefixDigest(through: end) == Self.digest(of: plain[..<Int(end)]))
    }

    @Test func aStreamReadAgainFromAPositionDropsTheBytesBefore() throws {
        let plain = Array(GzipInputTests.csv(rows: 3_000).utf8)
        let whole = try Self.withPipe(plain) { fd in
            let stream = try ChunkedFileReader(stream: fd, name: "cards", digest: DigestKey.local.streamDigest(), chunkSize: 4_096)
            var reader = try CSVReader(stream: stream, name: "cards", delimiter: UInt8(ascii: ","), from: nil, hasHeader: true)
            var records: [InputRecord] = []
            while let record = try reader.next() { records.append(record) }
            return records
        }
        let start = whole[1_234].position
        let again = try Self.withPipe(plain) { fd in
            let stream = try ChunkedFileReader(stream: fd, name: "cards", digest: DigestKey.local.streamDigest(), chunkSize: 4_096)
            var reader = try CSVReader(stream: stream, name: "cards", delimiter: UInt8(ascii: ","), from: start, hasHeader: true)
            #expect(reader.prefixDigest(through: start.offset) == Self.digest(of: plain[..<Int(start.offset)]))
            var records: [InputRecord] = []
            while let record = try reader.next() { records.append(record) }
            return records
        }
        #expect(GzipInputTests.same(again, Array(whole[1_234...])))
        // A stream shorter than the position: an error, not an empty read.
        #expect(throws: ChunkedFileReader.IOError.self) {
            try Self.withPipe(Array(plain.prefix(100))) { fd in
                let stream = try ChunkedFileReader(stream: fd, name: "cards", digest: DigestKey.local.streamDigest(), chunkSize: 4_096)
                _ = try CSVReader(stream: stream, name: "cards", delimiter: UInt8(ascii: ","), from: start, hasHeader: true)
            }
        }
    }
}
