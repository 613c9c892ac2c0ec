/// The records between the oldest one not yet written and the newest one read, by seq: a ring
/// buffer, so that finding a record by its seq is an index, and finished records leave in input
/// order however their answers arrive. Pure state: no I/O, no clock.
///
/// Records enter in seq order (``append(_:)``); a record leaves only from the front, once it is
/// finished (``popFinished(_:)``), so the window holds at most ``limit`` records, and the
/// reader stops while it is full.
public struct ReorderWindow<Element> {
    /// The most records the window holds.
    public let limit: Int
    /// The seq of the oldest record not yet written.
    public private(set) var nextToWrite: Int
    /// The seq the next record read will have.
    public private(set) var nextToRead: Int
    private var storage: [Element?]
    /// `storage.count - 1`; the storage's size is a power of two.
    private var mask: Int

    /// A window whose first record will have seq `start`.
    public init(start: Int, limit: Int) {
        precondition(limit > 0, "a reorder window holds at least one record")
        self.limit = limit
        nextToWrite = start
        nextToRead = start
        let capacity = min(64, Self.powerOfTwo(atLeast: limit))
        storage = Array(repeating: nil, count: capacity)
        mask = capacity - 1
    }

    public var count: Int { nextToRead - nextToWrite }
    public var isEmpty: Bool { count == 0 }
    public var isFull: Bool { count >= limit }

    /// Adds the next record read; its seq is ``nextToRead``, which is returned.
    @discardableResult
    public mutating func append(_ element: Element) -> Int {
        precondition(!isFull, "the reorder window is full")
        if count == storage.count { grow() }
        let seq = nextToRead
        storage[seq & mask] = element
        nextToRead += 1
        return seq
    }

    public func contains(_ seq: Int) -> Bool { seq >= nextToWrite && seq < nextToRead }

    /// The record of `seq`, changed in place (no copy); `nil` for a seq outside the window.
    public subscript(seq: Int) -> Element? {
        // Borrowed, not copied: a copy of a record retains every array and string it holds.
        _read {
            if contains(seq) {
                yield storage[seq & mask]
            } else {
                yield nil
            }
        }
        _modify {
            if contains(seq) {
                yield &storage[seq & mask]
            } else {
                var outside: Element? = nil
                yield &outside
            }
        }
    }

    /// Takes the oldest record out when `isFinished` says it can be written.
    public mutating func popFinished(_ isFinished: (Element) -> Bool) -> (seq: Int, element: Element)? {
        guard nextToWrite < nextToRead, let element = storage[nextToWrite & mask], isFinished(element) else { return nil }
        storage[nextToWrite & mask] = nil
        defer { nextToWrite += 1 }
        return (nextToWrite, element)
    }

    /// The seqs in the window, oldest first.
    public var seqs: Range<Int> { nextToWrite..<nextToRead }

    private mutating func grow() {
        var larger: [Element?] = Array(repeating: nil, count: storage.count * 2)
        let largerMask = larger.count - 1
        for seq in nextToWrite..<nextToRead {
            larger[seq & largerMask] = storage[seq & mask]
        }
        storage = larger
        mask = largerMask
    }

    static func powerOfTwo(atLeast value: Int) -> Int {
        var power = 1
        while power < value { power <<= 1 }
        return power
    }
}
