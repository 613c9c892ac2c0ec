import Pipeline
import Testing

/// The reorder window, with no sockets, files or clock: records leave in input order whatever
/// order they finish in, the window never holds more than its limit, and a seq outside it is
/// neither found nor changed.
struct ReorderWindowTests {
    struct Record {
        var seq: Int
        var finished = false
    }

    @Test func recordsLeaveInInputOrderWhateverOrderTheyFinishIn() {
        var window = ReorderWindow<Record>(start: 0, limit: 1_000)
        for seq in 0..<500 { #expect(window.append(Record(seq: seq)) == seq) }
        var written: [Int] = []
        // Finish from the back: nothing can leave until seq 0 finishes.
        for seq in (0..<500).reversed() {
            window[seq]!.finished = true
            while let (out, record) = window.popFinished({ $0.finished }) {
                #expect(out == record.seq)
                written.append(out)
            }
            if seq > 0 { #expect(written.isEmpty) }
        }
        #expect(written == Array(0..<500))
        #expect(window.isEmpty && window.nextToWrite == 500 && window.nextToRead == 500)
    }

    @Test func aFullWindowTakesNoMoreUntilItsFrontLeaves() {
        var window = ReorderWindow<Record>(start: 0, limit: 3)
        for seq in 0..<3 { window.append(Record(seq: seq)) }
        #expect(window.isFull)
        window[1]!.finished = true
        #expect(window.popFinished { $0.finished } == nil, "seq 1 is finished but seq 0 is not")
        #expect(window.isFull)
        window[0]!.finished = true
        #expect(window.popFinished { $0.finished }?.seq == 0)
        #expect(window.popFinished { $0.finished }?.seq == 1)
        #expect(!window.isFull && window.count == 1)
        window.append(Record(seq: 3))
        #expect(window.count == 2 && window.seqs == 2..<4)
    }

    @Test func aResumedWindowStartsAtTheCommitPoint() {
        var window = ReorderWindow<Record>(start: 41_000, limit: 8)
        #expect(window.append(Record(seq: 41_000)) == 41_000)
        #expect(window.contains(41_000) && !window.contains(40_999) && !window.contains(41_001))
        #expect(window[40_999] == nil)
    }

    @Test func aSeqOutsideTheWindowIsNotChanged() {
        var window = ReorderWindow<Record>(start: 0, limit: 4)
        window.append(Record(seq: 0))
        window[7]?.finished = true
        window[-1]?.finished = true
        #expect(window.count == 1 && window[0]?.finished == false)
    }

    @Test func growingKeepsEveryRecordAtItsSeq() {
        // Wrap around the ring before it grows: the front is not at storage index 0.
        var window = ReorderWindow<Record>(start: 0, limit: 10_000)
        for seq in 0..<50 { window.append(Record(seq: seq, finished: true)) }
        for _ in 0..<40 { _ = window.popFinished { $0.finished } }
        for seq in 50..<2_000 { window.append(Record(seq: seq)) }
        for seq in window.seqs { #expect(window[seq]?.seq == seq) }
    }
}
