import Foundation

/// The key of each row read from a table, by where the next row starts (its ordinal): the
/// engine's commit points are ordinals, and a resume reads on from the key there (keyset
/// pagination: `WHERE key > K`). Filled by the reader's thread as it reads, looked up on the
/// engine's loop as points are made; the marks before a point asked for are dropped (points only
/// move on), so they stay within the records read ahead and in flight.
final class TableKeyMarks: @unchecked Sendable {
    private let lock = NSLock()
    private var marks: [(after: Int64, key: String)] = []
    private var head = 0
    private var stopped = false

    /// The row whose next row starts at `after` has `key`.
    func add(after: Int64, key: String) {
        lock.withLock {
            if !stopped { marks.append((after, key)) }
        }
    }

    /// The rows whose next rows start at `first`, `first + 1`, … have `keys`, in order.
    func add(after first: Int64, keys: ArraySlice<String>) {
        lock.withLock {
            guard !stopped else { return }
            marks.reserveCapacity(marks.count + keys.count)
            for (offset, key) in keys.enumerated() { marks.append((first + Int64(offset), key)) }
        }
    }

    /// The key of the row before `offset` (`nil` before the first row read by this run: the
    /// caller knows the key it began after).
    func key(through offset: Int64) -> String? {
        lock.withLock {
            while head < marks.count && marks[head].after < offset { head += 1 }
            if head >= 1024 && head * 2 >= marks.count {
                marks.removeFirst(head)
                head = 0
            }
            guard head < marks.count, marks[head].after == offset else { return nil }
            return marks[head].key
        }
    }

    /// No key will be asked for again: none is kept.
    func stop() {
        lock.withLock {
            stopped = true
            marks = []
            head = 0
        }
    }
}
