import NIOCore

/// The requests of one connection that await an answer, keyed by the number in their traceId,
/// each with its deadline. A plain state container: no I/O, tested on its own.
///
/// The numbers a connection gives out rise by one, so the recent ones are kept in a ring indexed
/// by number (no hashing per request and answer); one older than the ring reaches (a request
/// that waits while many newer ones pass it) moves to a dictionary.
public struct InFlightTable<Value> {
    struct Entry {
        var id: UInt64
        var deadline: NIODeadline
        var value: Value
    }

    /// The ids `base ..< base + ring.count`, each at `id & (ring.count - 1)`.
    private var ring: [Entry?]
    private var base: UInt64 = 0
    /// Entries with an id below `base`.
    private var old: [UInt64: Entry] = [:]
    public private(set) var count = 0
    public private(set) var peak = 0

    /// `capacity`: how many consecutive ids the ring holds (a power of two is used).
    public init(capacity: Int = 1024) {
        var size = 1
        while size < capacity { size <<= 1 }
        ring = Array(repeating: nil, count: size)
    }

    public var isEmpty: Bool { count == 0 }

    private var mask: UInt64 { UInt64(ring.count - 1) }

    public mutating func insert(_ id: UInt64, deadline: NIODeadline, value: Value) {
        let entry = Entry(id: id, deadline: deadline, value: value)
        if id >= base &+ UInt64(ring.count) { slide(to: id - UInt64(ring.count) + 1) }
        if id < base {
            if old.updateValue(entry, forKey: id) == nil { count += 1 }
        } else {
            let index = Int(id & mask)
            if ring[index] == nil { count += 1 }
            ring[index] = entry
        }
        if count > peak { peak = count }
    }

    /// Moves the ring's start up to `newBase`; the entries it passes go to `old`.
    private mutating func slide(to newBase: UInt64) {
        if newBase - base >= UInt64(ring.count) {
            for index in ring.indices {
                if let entry = ring[index].take() { old[entry.id] = entry }
            }
        } else {
            var id = base
            while id < newBase {
                if let entry = ring[Int(id & mask)].take() { old[entry.id] = entry }
                id += 1
            }
        }
        base = newBase
    }

    /// Removes and returns the entry for `id`, or `nil` if none (unknown or already answered).
    public mutating func remove(_ id: UInt64) -> Value? {
        if id >= base && id < base &+ UInt64(ring.count) {
            let index = Int(id & mask)
            guard let entry = ring[index], entry.id == id else { return nil }
            ring[index] = nil
            count -= 1
            return entry.value
        }
        guard let entry = old.removeValue(forKey: id) else { return nil }
        count -= 1
        return entry.value
    }

    /// Removes and returns every entry whose deadline is at or before `now`, oldest first.
    public mutating func removeExpired(now: NIODeadline) -> [(id: UInt64, value: Value)] {
        var expired: [(id: UInt64, value: Value)] = []
        guard count > 0 else { return expired }
        for (id, entry) in old where entry.deadline <= now {
            expired.append((id, entry.value))
        }
        for item in expired { old.removeValue(forKey: item.id) }
        for index in ring.indices {
            if let entry = ring[index], entry.deadline <= now {
                expired.append((entry.id, entry.value))
                ring[index] = nil
            }
        }
        count -= expired.count
        return expired.sorted { $0.id < $1.id }
    }

    /// Removes and returns every entry, oldest first.
    public mutating func removeAll() -> [Value] {
        var all = Array(old.values)
        for index in ring.indices {
            if let entry = ring[index].take() { all.append(entry) }
        }
        old.removeAll()
        count = 0
        return all.sorted { $0.id < $1.id }.map(\.value)
    }
}
