/// The records between the oldest one not yet written and the newest one read, by seq: a ring
/// buffer, so that finding a record by its seq is an index, and finished records leave in input
/// order however their answers arrive. Pure state: no I/O, no clock.
///
/// Records enter in seq order (``append(_:)``); a record leaves only from the front, once it is
/// finished (``popFinished(_:)``), so the buffer holds at most ``limit`` records, and the
/// reader stops while it is full. Records are read and changed where they lie, never copied (a
/// copy of a record retains every array and string it holds); hence not copyable itself.
public struct ReorderBuffer<Element>: ~Copyable {
    /// The most records the buffer holds.
    public let limit: Int
    /// The seq of the oldest record not yet written.
    public private(set) var nextToWrite: Int
    /// The seq the next record read will have.
    public private(set) var nextToRead: Int
    /// `capacity` slots, a power of two; the record of `seq` is at `seq & (capacity - 1)`. One
    /// more slot after them, always empty, is what the subscript yields for a seq outside the
    /// buffer: yielding a local `nil` would make every access allocate the accessor's frame (an
    /// `Element?` is large).
    private var storage: UnsafeMutablePointer<Element?>
    private var capacity: Int

    /// A buffer whose first record will have seq `start`.
    public init(start: Int, limit: Int) {
        precondition(limit > 0, "a reorder buffer holds at least one record")
        self.limit = limit
        nextToWrite = start
        nextToRead = start
        capacity = min(64, Self.powerOfTwo(atLeast: limit))
        storage = .allocate(capacity: capacity + 1)
        storage.initialize(repeating: nil, count: capacity + 1)
    }

    deinit {
        storage.deinitialize(count: capacity + 1)
        storage.deallocate()
    }

    public var count: Int { nextToRead - nextToWrite }
    public var isEmpty: Bool { count == 0 }
    public var isFull: Bool { count >= limit }

    /// Adds the next record read; its seq is ``nextToRead``, which is returned.
    @discardableResult
    public mutating func append(_ element: consuming Element) -> Int {
        precondition(!isFull, "the reorder buffer is full")
        if count == capacity { grow() }
        let seq = nextToRead
        storage[seq & (capacity - 1)] = element
        nextToRead += 1
        return seq
    }

    public func contains(_ seq: Int) -> Bool { seq >= nextToWrite && seq < nextToRead }

    /// The record of `seq`, read or changed in place; `nil` for a seq outside the buffer.
    public subscript(seq: Int) -> Element? {
        _read {
            yield storage[index(of: seq)]
        }
        _modify {
            let index = index(of: seq)
            yield &storage[index]
            // Whatever was written outside the buffer is dropped: the spare slot stays empty.
            if index == capacity { storage[index] = nil }
        }
    }

    /// The slot of `seq`, or the spare (empty) one past the ring for a seq outside the buffer.
    @inline(__always)
    private func index(of seq: Int) -> Int {
        contains(seq) ? seq & (capacity - 1) : capacity
    }

    /// Runs `body` on the record of `seq` in place (`nil` for a seq outside the buffer). Reading
    /// a record's computed properties through the subscript's `_read` copies the whole record
    /// (every array and string in it retained, then released); through here it is not copied.
    public mutating func withSlot<Result, Failure: Error>(
        _ seq: Int, _ body: (inout Element) throws(Failure) -> Result
    ) throws(Failure) -> Result? {
        guard contains(seq) else { return nil }
        let slot = storage + (seq & (capacity - 1))
        if case .none = slot.pointee { return nil }
        return try body(&slot.pointee!)
    }

    /// Takes the oldest record out when `isFinished` says it can be written.
    public mutating func popFinished(_ isFinished: (borrowing Element) -> Bool) -> (seq: Int, element: Element)? {
        guard nextToWrite < nextToRead else { return nil }
        let slot = storage + (nextToWrite & (capacity - 1))
        guard slot.pointee != nil, isFinished(slot.pointee!), let element = slot.pointee.take() else { return nil }
        defer { nextToWrite += 1 }
        return (nextToWrite, element)
    }

    /// The seqs in the buffer, oldest first.
    public var seqs: Range<Int> { nextToWrite..<nextToRead }

    private mutating func grow() {
        let larger = UnsafeMutablePointer<Element?>.allocate(capacity: capacity * 2 + 1)
        larger.initialize(repeating: nil, count: capacity * 2 + 1)
        for seq in nextToWrite..<nextToRead {
            larger[seq & (capacity * 2 - 1)] = storage[seq & (capacity - 1)].take()
        }
        storage.deinitialize(count: capacity + 1)
        storage.deallocate()
        storage = larger
        capacity *= 2
    }

    static func powerOfTwo(atLeast value: Int) -> Int {
        var power = 1
        while power < value { power <<= 1 }
        return power
    }
}
