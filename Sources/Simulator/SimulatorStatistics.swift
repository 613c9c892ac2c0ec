/// What a simulator has done, for its exit report and for tests.
public struct SimulatorStatistics: Sendable, Hashable, CustomStringConvertible {
    /// Requests received, by action name (`invalid` for messages without a known action).
    public var requestsByAction: [String: Int] = [:]
    /// Failure answers sent, by errorCode (0 for failures without a code).
    public var errorsByCode: [Int: Int] = [:]
    /// WebSocket connections accepted over the lifetime.
    public var connectionsAccepted = 0
    /// Handshakes refused (bad key, too many connections, not a WebSocket request).
    public var handshakesRefused = 0
    /// Connections open now, and the most at once.
    public var connectionsOpen = 0
    public var peakConnections = 0
    /// Requests received but not yet answered now, and the most at once.
    public var inFlight = 0
    public var peakInFlight = 0
    /// Connections reset on purpose (`dropAfter`) and closed for idleness.
    public var connectionsDropped = 0
    /// Connections that stopped answering on purpose (`stallAt`).
    public var connectionsStalled = 0
    /// Text and binary frames received over all connections (the numbering of `resetAt`, `stallAt`).
    public var framesReceived = 0
    public var connectionsIdleClosed = 0
    /// Requests refused with 1004 because their values named a field twice (`refuseRepeatedFields`).
    public var repeatedFieldsRefused = 0
    /// Requests that waited for a worker (`capacity`): the service was saturated.
    public var queuedForCapacity = 0

    public var totalRequests: Int { requestsByAction.values.reduce(0, +) }

    public var description: String {
        var lines = ["simulator counters:"]
        lines.append("  requests: \(totalRequests)")
        if connectionsStalled > 0 { lines.append("  connections stalled on purpose: \(connectionsStalled)") }
        for (action, count) in requestsByAction.sorted(by: { $0.key < $1.key }) {
            lines.append("    \(action): \(count)")
        }
        lines.append("  errors: \(errorsByCode.values.reduce(0, +))")
        for (code, count) in errorsByCode.sorted(by: { $0.key < $1.key }) {
            lines.append("    \(code): \(count)")
        }
        lines.append("  connections: \(connectionsAccepted) accepted, \(handshakesRefused) refused, peak \(peakConnections) open")
        lines.append("  connections dropped on purpose: \(connectionsDropped), closed for idleness: \(connectionsIdleClosed)")
        lines.append("  peak in-flight: \(peakInFlight)")
        lines.append("  repeated fields refused: \(repeatedFieldsRefused)")
        lines.append("  queued for capacity: \(queuedForCapacity)")
        return lines.joined(separator: "\n")
    }
}
