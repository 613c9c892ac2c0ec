import NIOCore

/// The sessions of a job's connection pool, as pure state: which are up, connecting or waiting
/// to connect again, how many requests each has in flight, which generation of connection each
/// is on (answers of a replaced connection do not count against its successor), the reconnect
/// backoff and when to give up. It takes events and the time and returns what to do; the driver
/// opens and closes the connections, and each up session holds the driver's `Handle` of its
/// connection (so the driver keeps no arrays in step with the sessions). (Heartbeats and
/// dead-connection detection of one connection are ``ConnectionHealth``, run by the
/// connection's handler.)
public struct ConnectionPoolStateMachine<Handle> {
    public typealias Session = ConnectionPoolSession
    public typealias SessionState = ConnectionPoolSession.State

    /// Why a connection attempt failed, as the pool needs to know it.
    public enum ConnectFailure: Sendable, Hashable {
        /// 401/403 at the handshake: nothing to retry.
        case authentication
        /// 429/503 at the handshake: the service is there but busy (with its `Retry-After`).
        case busy(retryAfter: Duration?)
        /// Anything else: unreachable, TLS, a refused handshake.
        case unreachable

        public init(_ error: any Error) {
            guard let error = error as? ShieldConexError else {
                self = .unreachable
                return
            }
            if error.isAuthenticationFailure {
                self = .authentication
            } else if error.isTransientRefusal {
                self = .busy(retryAfter: error.retryAfter)
            } else {
                self = .unreachable
            }
        }
    }

    public enum Action: Sendable, Hashable {
        case none
        /// Open a connection for the session after `after`.
        case connect(session: Int, after: Duration)
        /// Stop the job: the credentials were refused.
        case giveUpAuthentication
        /// Stop the job: the service refused every connection (busy) for longer than the budget.
        case giveUpBusy(refusedFor: Duration)
        /// Stop the job: no connection could be opened after `attempts` attempts.
        case giveUpUnreachable(attempts: Int)
    }

    public private(set) var sessions: [Session]
    /// The driver's handle of each session's connection while it is up (kept in step with
    /// `sessions` here, and only here; the sessions themselves stay plain values, cheap to read).
    private var handles: [Handle?]
    /// The most requests in flight on one connection.
    public let maxInFlight: Int
    /// Failed attempts in a row (with every session down) before the job gives up on an
    /// unreachable service. A busy one (429/503) is given the retry budget instead.
    public let giveUpAfter: Int
    public let policy: RetryPolicy
    public private(set) var inFlight = 0
    /// Connections lost while the job ran (each is opened again).
    public private(set) var reconnects = 0
    public private(set) var stopping = false
    /// The sessions the pool started with; those ``add(_:)`` opened come after them.
    public let initialCount: Int
    /// The service refused (busy) a connection added beyond ``initialCount`` while others were
    /// up: it takes no more, so no more are added, and that session is left down.
    public private(set) var refusedMore = false
    /// When a connection was last up (or the pool started).
    private var lastUp: NIODeadline

    public init(count: Int, maxInFlight: Int, policy: RetryPolicy, giveUpAfter: Int = 8, now: NIODeadline) {
        sessions = Array(repeating: Session(), count: max(1, count))
        handles = Array(repeating: nil, count: sessions.count)
        initialCount = sessions.count
        self.maxInFlight = max(1, maxInFlight)
        self.policy = policy
        self.giveUpAfter = giveUpAfter
        lastUp = now
    }

    /// The first connections: one per session, at once.
    public func start() -> [Action] { sessions.indices.map { .connect(session: $0, after: .zero) } }

    /// `count` more sessions (the window grew past what the open ones carry): their first
    /// connections, at once. None once the pool stops.
    public mutating func add(_ count: Int) -> [Action] {
        guard !stopping, !refusedMore, count > 0 else { return [] }
        let first = sessions.count
        sessions.append(contentsOf: repeatElement(Session(), count: count))
        handles.append(contentsOf: repeatElement(nil, count: count))
        return (first..<sessions.count).map { .connect(session: $0, after: .zero) }
    }

    /// The window grew to `window`: enough sessions that none carries more than `perConnection`
    /// of it, up to `atMost`; returns the new sessions' first connections. Never fewer sessions
    /// (an idle connection costs a heartbeat), and none added once the pool stops.
    public mutating func grow(toCarry window: Int, perConnection: Int, atMost: Int) -> [Action] {
        let perConnection = max(1, perConnection)
        let wanted = min(max(initialCount, atMost), max(initialCount, (window + perConnection - 1) / perConnection))
        guard wanted > sessions.count else { return [] }
        return add(wanted - sessions.count)
    }

    public var allDown: Bool { !sessions.contains { $0.state == .up } }
    public var upCount: Int { sessions.reduce(0) { $0 + ($1.state == .up ? 1 : 0) } }

    /// A connection of `session` is up, held by the handle `makeHandle` makes of its generation
    /// (which its answers and its closing carry); returns the generation.
    @discardableResult
    public mutating func connected(_ session: Int, now: NIODeadline, handle makeHandle: (_ generation: Int) -> Handle) -> Int {
        sessions[session].state = .up
        sessions[session].failures = 0
        sessions[session].generation += 1
        handles[session] = makeHandle(sessions[session].generation)
        inFlight -= sessions[session].inFlight
        sessions[session].inFlight = 0
        lastUp = now
        return sessions[session].generation
    }

    public mutating func connectFailed<Random: RandomNumberGenerator>(
        _ session: Int, _ failure: ConnectFailure, now: NIODeadline, random: inout Random
    ) -> Action {
        sessions[session].failures += 1
        let failures = sessions[session].failures
        switch failure {
        case .authentication:
            return .giveUpAuthentication
        case .busy where session >= initialCount && upCount > 0:
            refusedMore = true
            sessions[session].state = .down
            return .none
        case .busy(let retryAfter):
            let refusedFor = Duration.nanoseconds((now - lastUp).nanoseconds)
            if allDown && !policy.allowsRetry(after: refusedFor) { return .giveUpBusy(refusedFor: refusedFor) }
            return reconnect(session, after: max(policy.backoff(beforeAttempt: failures + 1, using: &random), retryAfter ?? .zero))
        case .unreachable:
            if allDown && failures >= giveUpAfter { return .giveUpUnreachable(attempts: failures) }
            return reconnect(session, after: policy.backoff(beforeAttempt: failures + 1, using: &random))
        }
    }

    /// The connection of `session` closed (for whatever reason). Its requests in flight failed
    /// with it (each is classified by the engine); a closing of an older generation is ignored.
    public mutating func closed<Random: RandomNumberGenerator>(_ session: Int, generation: Int, random: inout Random) -> Action {
        guard sessions[session].generation == generation, sessions[session].state == .up else { return .none }
        inFlight -= sessions[session].inFlight
        sessions[session].inFlight = 0
        sessions[session].state = .down
        handles[session] = nil
        guard !stopping else { return .none }
        reconnects += 1
        return reconnect(session, after: policy.backoff(beforeAttempt: 2, using: &random))
    }

    private mutating func reconnect(_ session: Int, after delay: Duration) -> Action {
        guard !stopping else {
            sessions[session].state = .down
            return .none
        }
        sessions[session].state = .connecting
        return .connect(session: session, after: delay)
    }

    /// The open session with the fewest requests in flight and room for one more.
    public func leastLoaded() -> Int? {
        var best: Int?
        var fewest = maxInFlight
        for index in sessions.indices where sessions[index].state == .up && sessions[index].inFlight < fewest {
            best = index
            fewest = sessions[index].inFlight
        }
        return best
    }

    public mutating func sent(on session: Int) {
        sessions[session].inFlight += 1
        inFlight += 1
    }

    /// `count` answers (or failures) of requests sent on `session`'s connection `generation`.
    public mutating func answered(on session: Int, generation: Int, count: Int = 1) {
        guard sessions[session].generation == generation, sessions[session].state == .up else { return }
        let answered = min(count, sessions[session].inFlight)
        sessions[session].inFlight -= answered
        inFlight -= answered
    }

    /// No more connections are opened; the ones up stay until the driver closes them.
    public mutating func stop() {
        stopping = true
    }

    /// The handle of `session`'s connection while it is up.
    public func handle(_ session: Int) -> Handle? { handles[session] }

    /// Lets go of every session's handle (the driver is closing them all); returns them.
    public mutating func takeHandles() -> [Handle] {
        let taken = handles.compactMap { $0 }
        handles = Array(repeating: nil, count: handles.count)
        return taken
    }
}

extension ConnectionPoolStateMachine: Sendable where Handle: Sendable {}

/// One session of a ``ConnectionPoolStateMachine``: plain values, read on every request.
public struct ConnectionPoolSession: Sendable, Hashable {
    public enum State: Sendable, Hashable {
        /// Connecting, or waiting out a backoff before connecting.
        case connecting
        case up
        /// Lost, and not connecting again (the pool is stopping).
        case down
    }

    public internal(set) var state = State.connecting
    public internal(set) var generation = 0
    public internal(set) var inFlight = 0
    /// Failed connection attempts since it was last up.
    public internal(set) var failures = 0
}
