/// A first-in, first-out queue of seqs on a ring buffer: `removeFirst` in constant time (an
/// `Array`'s shifts every element).
public struct SeqQueue: Sendable {
    private var storage: [Int]
    private var head = 0
    public private(set) var count = 0

    public init(capacity: Int = 16) {
        storage = Array(repeating: 0, count: ReorderBuffer<Int>.powerOfTwo(atLeast: max(capacity, 2)))
    }

    public var isEmpty: Bool { count == 0 }

    public mutating func append(_ seq: Int) {
        if count == storage.count { grow() }
        storage[(head + count) & (storage.count - 1)] = seq
        count += 1
    }

    public mutating func popFirst() -> Int? {
        guard count > 0 else { return nil }
        let seq = storage[head]
        head = (head + 1) & (storage.count - 1)
        count -= 1
        return seq
    }

    public var first: Int? { count > 0 ? storage[head] : nil }

    private mutating func grow() {
        var larger = Array(repeating: 0, count: storage.count * 2)
        for offset in 0..<count { larger[offset] = storage[(head + offset) & (storage.count - 1)] }
        storage = larger
        head = 0
    }
}
