import Foundation
import NIOCore
import NIOPosix
@testable import Pipeline
import Testing

/// A reader that produces a record only when the test allows it, and notes how far ahead of the
/// consumer it ever got.
final class GatedRecords: @unchecked Sendable {
    let condition = NSCondition()
    var allowed = 0
    var produced = 0
    var consumed = 0
    var maxLead = 0
    let total: Int
    let failAt: Int?

    init(total: Int, failAt: Int? = nil) {
        self.total = total
        self.failAt = failAt
    }

    func allow(_ count: Int) {
        condition.lock()
        allowed += count
        condition.broadcast()
        condition.unlock()
    }

    func waitUntilProduced(_ count: Int) {
        condition.lock()
        while produced < count { condition.wait() }
        condition.unlock()
    }

    struct Failure: Error {}

    struct Reader: RecordReader {
        let gate: GatedRecords
        var nextPosition = RecordPosition(seq: 0, offset: 0, line: 2)

        mutating func next() throws -> InputRecord? {
            gate.condition.lock()
            defer { gate.condition.unlock() }
            while gate.produced >= gate.allowed && gate.produced < gate.total { gate.condition.wait() }
            guard gate.produced < gate.total else { return nil }
            if gate.produced == gate.failAt { throw Failure() }
            let record = InputRecord(position: nextPosition, bytes: Array("R\(gate.produced)".utf8), ending: .lf, content: .csv([]))
            gate.produced += 1
            gate.maxLead = max(gate.maxLead, gate.produced - gate.consumed)
            gate.condition.broadcast()
            nextPosition = RecordPosition(seq: nextPosition.seq + 1, offset: nextPosition.offset + 3, line: nextPosition.line + 1)
            return record
        }
    }
}

@Suite struct PrefetchingSourceTests {
    let loop = MultiThreadedEventLoopGroup.singleton.next()

    /// Reads on the loop, as the engine does; waits (on this thread) for a record when told to.
    func read(_ source: PrefetchingSource, _ gate: GatedRecords) throws -> String? {
        while true {
            let read = try loop.submit { () -> (String?, EventLoopFuture<Void>?, Bool) in
                switch try source.read() {
                case .record(let record, _):
                    gate.condition.lock()
                    gate.consumed += 1
                    gate.condition.broadcast()
                    gate.condition.unlock()
                    return (String(decoding: record.bytes, as: UTF8.self), nil, false)
                case .wait(let ready): return (nil, ready, false)
                case .end: return (nil, nil, true)
                }
            }.wait()
            if let ready = read.1 {
                try ready.wait()
                continue
            }
            return read.0
        }
    }

    @Test func recordsArriveInOrderAndNeverMoreThanTheDepthAhead() throws {
        let gate = GatedRecords(total: 40)
        let source = PrefetchingSource(GatedRecords.Reader(gate: gate), depth: 4, loop: loop)
        defer { source.close() }
        // Nothing is allowed yet: the first read waits, and goes on once a record is there.
        let first = try loop.submit { try source.read() }.wait()
        guard case .wait(let ready) = first else { Issue.record("a record before any was read"); return }
        gate.allow(1)
        try ready.wait()
        #expect(try read(source, gate) == "R0")
        gate.allow(39)
        // The reader stops at the depth until records are taken.
        gate.waitUntilProduced(5)
        var seen: [String] = []
        while let record = try read(source, gate) { seen.append(record) }
        #expect(seen == (1..<40).map { "R\($0)" })
        #expect(gate.maxLead <= 2 * 4 + 1, "read ahead by \(gate.maxLead) at most (depth 4, the run the loop took, and the one in the reader's hands)")
        #expect(try read(source, gate) == nil, "the end stays the end")
    }

    @Test func aReaderThatFailsFailsTheReadAfterTheRecordsBeforeIt() throws {
        let gate = GatedRecords(total: 10, failAt: 3)
        gate.allow(10)
        let source = PrefetchingSource(GatedRecords.Reader(gate: gate), depth: 8, loop: loop)
        defer { source.close() }
        #expect(try read(source, gate) == "R0")
        #expect(try read(source, gate) == "R1")
        #expect(try read(source, gate) == "R2")
        #expect(throws: GatedRecords.Failure.self) { _ = try read(source, gate) }
    }
}
