import NIOCore

/// The requests of one connection that await an answer, keyed by the number in their traceId,
/// each with its deadline. A plain state container: no I/O, tested on its own.
public struct InFlightTable<Value> {
    struct Entry {
        var deadline: NIODeadline
        var value: Value
    }

    private var entries: [UInt64: Entry] = [:]
    public private(set) var peak = 0

    public init() {}

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    public mutating func insert(_ id: UInt64, deadline: NIODeadline, value: Value) {
        entries[id] = Entry(deadline: deadline, value: value)
        if entries.count > peak { peak = entries.count }
    }

    /// Removes and returns the entry for `id`, or `nil` if none (unknown or already answered).
    public mutating func remove(_ id: UInt64) -> Value? {
        entries.removeValue(forKey: id)?.value
    }

    /// Removes and returns every entry whose deadline is at or before `now`.
    public mutating func removeExpired(now: NIODeadline) -> [(id: UInt64, value: Value)] {
        var expired: [(id: UInt64, value: Value)] = []
        for (id, entry) in entries where entry.deadline <= now {
            expired.append((id, entry.value))
        }
        for item in expired { entries.removeValue(forKey: item.id) }
        return expired.sorted { $0.id < $1.id }
    }

    /// Removes and returns every entry, oldest first.
    public mutating func removeAll() -> [Value] {
        let all = entries.sorted { $0.key < $1.key }.map(\.value.value)
        entries.removeAll()
        return all
    }
}
