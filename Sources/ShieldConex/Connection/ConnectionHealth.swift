import NIOCore

/// Whether one connection is alive, as pure state: heartbeats go every `interval` on every
/// connection, busy or idle, and a connection is dead when a heartbeat is not answered in time
/// or when a request is still unanswered at its deadline (a half-open connection answers
/// nothing, and without this its requests would only ever time out one by one). A dead
/// connection is closed, which fails every request on it, so that they go again on another.
/// The handler calls ``tick(now:expired:)`` on its timer and carries out the action.
public struct ConnectionHealth: Sendable, Hashable {
    public enum Action: Sendable, Hashable {
        case none
        case sendHeartbeat
        /// Close the connection: it is dead.
        case close(DeadReason)
    }

    public enum DeadReason: Sendable, Hashable {
        case heartbeatUnanswered
        /// `count` requests were not answered by their deadline.
        case requestsUnanswered(count: Int)

        public var error: ShieldConexError {
            switch self {
            case .heartbeatUnanswered: .heartbeatTimeout
            case .requestsUnanswered(let count):
                .connectionLost("\(count == 1 ? "a request was" : "\(count) requests were") not answered in time: the connection is treated as dead")
            }
        }
    }

    public let interval: TimeAmount
    public private(set) var heartbeatPending = false
    private var lastHeartbeat: NIODeadline

    public init(interval: TimeAmount, now: NIODeadline) {
        self.interval = interval
        lastHeartbeat = now
    }

    /// What the timer finds: `expired` are the entries of the in-flight table past their
    /// deadline (requests, and whether the pending heartbeat is among them).
    public mutating func tick(now: NIODeadline, expired: (requests: Int, heartbeat: Bool)) -> Action {
        if expired.heartbeat { return .close(.heartbeatUnanswered) }
        if expired.requests > 0 { return .close(.requestsUnanswered(count: expired.requests)) }
        guard !heartbeatPending, now - lastHeartbeat >= interval else { return .none }
        heartbeatPending = true
        lastHeartbeat = now
        return .sendHeartbeat
    }

    public mutating func heartbeatAnswered() {
        heartbeatPending = false
    }
}
