/// How the window of requests in flight moved during a run (``ConcurrencyController``): for the
/// report, the summary and the metrics.
public struct WindowSummary: Sendable, Hashable, Codable {
    /// `--connections × --in-flight`.
    public var start: Int
    /// `--connections-max × --in-flight-max` (the start with `--fixed-concurrency`).
    public var ceiling: Int
    /// At the end of the run.
    public var last: Int
    public var peak: Int
    /// Why it last changed: `start`, `growing`, `latency`, `throttled` or `fixed`.
    public var lastReason: String
    /// Changes by reason.
    public var changes: [String: Int]
    /// Connections the run opened (at the start and as the window grew).
    public var connections: Int
    public var fixed: Bool
    /// The round trip the controller took as the service's floor (its lowest smoothed median).
    public var floorMilliseconds: Double?

    public init(
        start: Int, ceiling: Int, last: Int, peak: Int, lastReason: String, changes: [String: Int], connections: Int, fixed: Bool,
        floorMilliseconds: Double?
    ) {
        self.start = start
        self.ceiling = ceiling
        self.last = last
        self.peak = peak
        self.lastReason = lastReason
        self.changes = changes
        self.connections = connections
        self.fixed = fixed
        self.floorMilliseconds = floorMilliseconds
    }

    /// One line for the summary.
    public var line: String {
        if fixed { return "window: \(last) requests in flight, fixed (--fixed-concurrency), \(connections) connections" }
        let moves = changes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return "window: \(last) requests in flight at the end (started at \(start), peak \(peak), ceiling \(ceiling); last change: \(lastReason)"
            + (moves.isEmpty ? "" : "; changes: \(moves)") + "), \(connections) connections"
    }
}
