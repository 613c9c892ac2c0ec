import Pipeline
import Testing

/// The reorder window, with no sockets, files or clock: records leave in input order whatever
/// order they finish in, the window never holds more than its limit, and a seq outside it is
/// neither found nor changed.
struct ReorderBufferTests {
    struct Record: Equatable {
        var seq: Int
        var finished = false
    }

    @Test func recordsLeaveInInputOrderWhateverOrderTheyFinishIn() {
        var window = ReorderBuffer<Record>(start: 0, limit: 1_000)
        for seq in 0..<500 {
            let appended = window.append(Record(seq: seq))
            #expect(appended == seq)
        }
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
        let (empty, nextToWrite, nextToRead) = (window.isEmpty, window.nextToWrite, window.nextToRead)
        #expect(empty && nextToWrite == 500 && nextToRead == 500)
    }

    @Test func aFullWindowTakesNoMoreUntilItsFrontLeaves() {
        var window = ReorderBuffer<Record>(start: 0, limit: 3)
        for seq in 0..<3 { window.append(Record(seq: seq)) }
        var full = window.isFull
        #expect(full)
        window[1]!.finished = true
        let early = window.popFinished { $0.finished }
        #expect(early == nil, "seq 1 is finished but seq 0 is not")
        full = window.isFull
        #expect(full)
        window[0]!.finished = true
        let first = window.popFinished { $0.finished }?.seq
        let second = window.popFinished { $0.finished }?.seq
        #expect(first == 0 && second == 1)
        full = window.isFull
        var count = window.count
        #expect(!full && count == 1)
        window.append(Record(seq: 3))
        count = window.count
        let seqs = window.seqs
        #expect(count == 2 && seqs == 2..<4)
    }

    @Test func aResumedWindowStartsAtTheCommitPoint() {
        var window = ReorderBuffer<Record>(start: 41_000, limit: 8)
        let seq = window.append(Record(seq: 41_000))
        #expect(seq == 41_000)
        let (inside, before, after) = (window.contains(41_000), window.contains(40_999), window.contains(41_001))
        #expect(inside && !before && !after)
        let outside = window[40_999]
        #expect(outside == nil)
    }

    @Test func aSeqOutsideTheWindowIsNotChanged() {
        var window = ReorderBuffer<Record>(start: 0, limit: 4)
        window.append(Record(seq: 0))
        window[7]?.finished = true
        window[-1]?.finished = true
        let (count, finished) = (window.count, window[0]?.finished)
        #expect(count == 1 && finished == false)
        // A whole record written outside the window is dropped, before and after it grows: what
        // an outside seq reads stays nil (it is one spare slot past the ring).
        window[9] = Record(seq: 9)
        window[-5] = Record(seq: -5)
        let (nine, minusFive) = (window[9]?.seq, window[-5]?.seq)
        #expect(nine == nil && minusFive == nil)
        var large = ReorderBuffer<Record>(start: 0, limit: 1_000)
        for seq in 0..<200 { large.append(Record(seq: seq)) }
        large[500] = Record(seq: 500)
        large[200] = Record(seq: 200)
        let (fiveHundred, twoHundred, last) = (large[500]?.seq, large[200]?.seq, large[199]?.seq)
        #expect(fiveHundred == nil && twoHundred == nil && last == 199 && large.count == 200)
    }

    @Test func growingKeepsEveryRecordAtItsSeq() {
        // Wrap around the ring before it grows: the front is not at storage index 0.
        var window = ReorderBuffer<Record>(start: 0, limit: 10_000)
        for seq in 0..<50 { window.append(Record(seq: seq, finished: true)) }
        for _ in 0..<40 { _ = window.popFinished { $0.finished } }
        for seq in 50..<2_000 { window.append(Record(seq: seq)) }
        for seq in window.seqs {
            let found = window[seq]?.seq
            #expect(found == seq)
        }
    }
}
