import Checkpoint
import Foundation
import NIOCore
import ShieldConex
import Testing

@testable import Pipeline
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The second audit's fixes that can be shown without a process: the job-level retry bound
/// under a virtual clock, temporary files that are never another user's, a renderer that never
/// traps, a header row that looks like data, a key no refusal can show.
@Suite struct SecondAuditUnitTests {
    // MARK: ProgressWatchdog (item 16)

    @Test func theWatchdogStopsAJobThatNothingSucceededForItsBudget() {
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var watchdog = ProgressWatchdog(budget: .seconds(5), now: start)
        // Silence is not a reason: nothing was refused.
        #expect(watchdog.expired(now: start + .seconds(60)) == nil)
        watchdog.refused("8001")
        #expect(watchdog.expired(now: start + .seconds(4)) == nil)
        watchdog.refused("8001")
        watchdog.refused("no answer (lost or timed out)")
        let message = watchdog.expired(now: start + .seconds(5))
        #expect(message?.contains("no record succeeded for 5 s") == true)
        #expect(message?.contains("8001 × 2, no answer (lost or timed out) × 1") == true, "\(message ?? "")")
        // A final answer starts the budget over and forgets the refusals.
        watchdog.progressed(now: start + .seconds(6))
        watchdog.refused("1429")
        #expect(watchdog.expired(now: start + .seconds(10)) == nil)
        #expect(watchdog.expired(now: start + .seconds(11))?.contains("1429 × 1") == true)
    }

    @Test func aHugeBudgetNeverOverflows() {
        let start = NIODeadline.uptimeNanoseconds(0)
        var watchdog = ProgressWatchdog(budget: .seconds(Int64.max), now: start)
        watchdog.refused("8001")
        // (--retry-for is at most a week; a budget past Int64's nanoseconds saturates, never traps.)
        #expect(watchdog.expired(now: .uptimeNanoseconds(UInt64(Int64.max / 2))) == nil)
    }

    // MARK: AtomicFile (item 18)

    /// A file at the old predictable temporary name (another user's, in a shared folder) is never
    /// opened, truncated or renamed into place; the new file is a regular file of mode 0600.
    @Test func atomicWritesNeverUseAFileThatWasThere() throws {
        let folder = try TestFolder(prefix: "atomic")
        defer { folder.remove() }
        let path = folder.url.appendingPathComponent("out.csv").path
        let planted = path + ".tmp.\(getpid())"
        try Data("theirs".utf8).write(to: URL(fileURLWithPath: planted))
        try AtomicFile.write(Data("ours".utf8), to: path)
        #expect(try String(contentsOfFile: planted, encoding: .utf8) == "theirs")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "ours")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect(attributes[.posixPermissions] as? Int == 0o600 && attributes[.type] as? FileAttributeType == .typeRegular)
        // Only the planted file and ours: no temporary left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path).sorted() == ["out.csv", "out.csv.tmp.\(getpid())"])
    }

    @Test func anExclusiveOutputFileRefusesAFIFOOrASymlink() throws {
        let folder = try TestFolder(prefix: "atomic")
        defer { folder.remove() }
        let fifo = folder.url.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o666) == 0)
        #expect(throws: OutputFile.IOError.self) { try OutputFile(path: fifo, resumeAt: nil, expected: nil, exclusive: true) }
        let link = folder.url.appendingPathComponent("link").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: folder.url.appendingPathComponent("target").path)
        #expect(throws: OutputFile.IOError.self) { try OutputFile(path: link, resumeAt: nil, expected: nil, exclusive: true) }
        #expect(!FileManager.default.fileExists(atPath: folder.url.appendingPathComponent("target").path))
    }

    /// Two files prepared together appear together, or neither does.
    @Test func preparedFilesAppearOnlyWhenCommitted() throws {
        let folder = try TestFolder(prefix: "atomic")
        defer { folder.remove() }
        let first = folder.url.appendingPathComponent("a").path
        do {
            let pending = try AtomicFile.prepare(to: first) { try $0.write(Array("a".utf8)) }
            _ = pending
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path).isEmpty, "an uncommitted file is removed")
        let pending = try AtomicFile.prepare(to: first) { try $0.write(Array("a".utf8)) }
        try pending.commit()
        #expect(try String(contentsOfFile: first, encoding: .utf8) == "a")
    }

    // MARK: OutputRenderer (item 15)

    /// An NDJSON record whose mapped key is the bfid key (refused at configuration since): the
    /// renderer writes the token there, never the value, and does not trap.
    @Test func theRendererKeepsTheTokenWhereTheBfidKeyIsMapped() throws {
        let pan = TestCards.pan(7)
        let file = try TempFile("{\"id\":1,\"bfid\":\"\(pan)\"}\n")
        defer { file.remove() }
        var reader = try NDJSONReader(path: file.path)
        let mapper = try FieldMapper(instructions: [try Instruction(shortForm: "bfid=card_number")], format: .ndjson, header: nil)
        let renderer = try OutputRenderer(format: .ndjson, header: nil)
        let record = try #require(try reader.next())
        guard case .success(let mapped) = mapper.map(record) else { Issue.record("not mapped"); return }
        var out: [UInt8] = []
        renderer.render(mapped, tokens: ["TOKEN"], bfid: "B1", into: &out)
        let line = String(decoding: out, as: UTF8.self)
        #expect(line.contains("\"TOKEN\"") && !line.contains(pan), "\(line)")
        #expect(throws: MappingError.self) {
            try RecordIdentifier.checkBfidColumn("bfid", producesBfid: true, format: .ndjson, header: nil, mapper: mapper)
        }
    }

    // MARK: CSVHeader (item 9)

    @Test func aHeaderRowThatLooksLikeDataIsShownByPositionOnly() throws {
        let headerless = try TempFile("1,\(TestCards.pan(1)),1227,737,Jane Doe\n")
        defer { headerless.remove() }
        let header = try CSVReader(path: headerless.path).header
        #expect(header.looksLikeData && header.describedColumns == "#1, #2, #3, #4, #5")
        // Mostly digits, no card number: still data.
        let digits = try TempFile("17,2024-01-02,437,Jane Doe\n")
        defer { digits.remove() }
        #expect(try CSVReader(path: digits.path).header.looksLikeData)
        let named = try TempFile("id,card_number,card_exp,card_cvv,name\n")
        defer { named.remove() }
        let names = try CSVReader(path: named.path).header
        #expect(!names.looksLikeData && names.describedColumns == "id, card_number, card_exp, card_cvv, name")
    }

    // MARK: FieldMapper (item 10)

    @Test func aMappedColumnNamedTwiceIsRefusedAndADuplicateKeyIsAReject() throws {
        let csv = try TempFile("id,card_number,card_number\n1,\(TestCards.pan(1)),\(TestCards.pan(2))\n")
        defer { csv.remove() }
        let header = try CSVReader(path: csv.path).header
        #expect(throws: MappingError.self) {
            try FieldMapper(instructions: [try Instruction(shortForm: "card_number=card_number")], format: .csv, header: header)
        }
        let ndjson = try TempFile("{\"card\":\"\(TestCards.pan(1))\",\"card\":\"\(TestCards.pan(2))\"}\n")
        defer { ndjson.remove() }
        var reader = try NDJSONReader(path: ndjson.path)
        let mapper = try FieldMapper(instructions: [try Instruction(shortForm: "card=card_number")], format: .ndjson, header: nil)
        guard case .failure(let error) = mapper.map(try #require(try reader.next())) else { Issue.record("mapped"); return }
        #expect(error.code == .duplicateKey && !error.message.contains(TestCards.pan(1)))
    }
}
