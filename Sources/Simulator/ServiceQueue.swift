import NIOCore

/// The simulator's model of a service with a capacity (`--capacity N`, `--processing-ms S`): N
/// workers, each taking one request at a time for S, and one queue in front of them, first come
/// first served (an M/D/N queue). A request that arrives while every worker is busy waits for the
/// first to come free, so the latency a client sees rises with its load beyond N ÷ S requests
/// per second, as at a real service that queues. Pure state: the time is passed in.
///
/// With a constant S and requests taken in the order they arrive, the workers come free in the
/// order they were taken: a ring of the N latest finish times, the oldest next.
public struct ServiceQueue: Sendable {
    public let capacity: Int
    public let processing: TimeAmount
    private var finishes: [NIODeadline]
    private var next = 0
    /// Requests that had to wait for a worker.
    public private(set) var queued = 0

    public init(capacity: Int, processing: TimeAmount) {
        self.capacity = max(1, capacity)
        self.processing = max(.zero, processing)
        finishes = Array(repeating: .distantPast, count: self.capacity)
    }

    /// A request arrives at `now`: returns when its answer is ready (it waits for the first
    /// worker to come free, then takes `processing`).
    public mutating func admit(now: NIODeadline) -> NIODeadline {
        let free = finishes[next]
        if free > now { queued += 1 }
        let finish = max(now, free) + processing
        finishes[next] = finish
        next = next + 1 == capacity ? 0 : next + 1
        return finish
    }
}
