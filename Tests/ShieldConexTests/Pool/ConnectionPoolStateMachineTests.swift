import NIOCore
import ShieldConex
import Testing

/// The pool's sessions through their states, with no sockets and no clock: generations,
/// least-loaded choice, reconnect backoff, when to give up (unreachable, busy, refused).
struct ConnectionPoolStateMachineTests {
    /// A session's handle here is its generation.
    typealias Pool = ConnectionPoolStateMachine<Int>

    struct Fixed: RandomNumberGenerator {
        mutating func next() -> UInt64 { 1 << 63 }  // the middle of every jitter range
    }

    let start = NIODeadline.uptimeNanoseconds(5_000_000_000)
    var random = Fixed()

    func pool(_ count: Int = 2, maxInFlight: Int = 4) -> Pool {
        Pool(count: count, maxInFlight: maxInFlight, policy: RetryPolicy(), now: start)
    }

    @Test func everySessionConnectsAtOnceAndEachConnectionIsANewGeneration() {
        var pool = pool(3)
        #expect(pool.start() == [.connect(session: 0, after: .zero), .connect(session: 1, after: .zero), .connect(session: 2, after: .zero)])
        #expect(pool.allDown && pool.leastLoaded() == nil)
        #expect(pool.connected(1, now: start) { $0 } == 1)
        #expect(pool.leastLoaded() == 1 && !pool.allDown && pool.upCount == 1)
        #expect(pool.connected(1, now: start) { $0 } == 2)
    }

    @Test func theLeastLoadedSessionWithRoomIsChosen() {
        var pool = pool(2, maxInFlight: 2)
        _ = pool.connected(0, now: start) { $0 }
        _ = pool.connected(1, now: start) { $0 }
        pool.sent(on: 0)
        #expect(pool.leastLoaded() == 1)
        pool.sent(on: 1)
        pool.sent(on: 1)
        #expect(pool.leastLoaded() == 0)
        pool.sent(on: 0)
        #expect(pool.leastLoaded() == nil && pool.inFlight == 4)
        pool.answered(on: 1, generation: 1)
        #expect(pool.leastLoaded() == 1 && pool.inFlight == 3)
    }

    @Test mutating func aLostConnectionIsOpenedAgainAndItsLateAnswersDoNotCount() {
        var pool = pool(1)
        let first = pool.connected(0, now: start) { $0 }
        pool.sent(on: 0)
        pool.sent(on: 0)
        #expect(pool.closed(0, generation: first, random: &random) == .connect(session: 0, after: .milliseconds(50)))
        #expect(pool.inFlight == 0 && pool.reconnects == 1 && pool.sessions[0].state == .connecting)
        // The old connection's closing, seen twice, and its late failures change nothing.
        #expect(pool.closed(0, generation: first, random: &random) == .none)
        let second = pool.connected(0, now: start) { $0 }
        pool.sent(on: 0)
        pool.answered(on: 0, generation: first, count: 2)
        #expect(pool.inFlight == 1 && pool.sessions[0].inFlight == 1)
        pool.answered(on: 0, generation: second)
        #expect(pool.inFlight == 0)
    }

    @Test mutating func anUnreachableServiceIsGivenUpAfterEightAttemptsInARowWithEverySessionDown() {
        var pool = pool(2)
        var actions: [Pool.Action] = []
        for _ in 0..<8 { actions.append(pool.connectFailed(0, .unreachable, now: start, random: &random)) }
        #expect(actions.prefix(7).allSatisfy { if case .connect(0, _) = $0 { true } else { false } })
        // Backoff doubles: 50 ms before the second attempt, 100 ms before the third, ...
        #expect(actions[0] == .connect(session: 0, after: .milliseconds(50)))
        #expect(actions[1] == .connect(session: 0, after: .milliseconds(100)))
        #expect(actions[7] == .giveUpUnreachable(attempts: 8))
        // With another session up, the job goes on.
        var healthy = self.pool(2)
        _ = healthy.connected(1, now: start) { $0 }
        for _ in 0..<20 {
            guard case .connect = healthy.connectFailed(0, .unreachable, now: start, random: &random) else { Issue.record("gave up"); return }
        }
    }

    @Test mutating func aBusyServiceGetsTheRetryBudgetAndItsRetryAfter() {
        var pool = pool(1)
        #expect(pool.connectFailed(0, .busy(retryAfter: .seconds(3)), now: start, random: &random) == .connect(session: 0, after: .seconds(3)))
        #expect(pool.connectFailed(0, .busy(retryAfter: nil), now: start + .seconds(10), random: &random) == .connect(session: 0, after: .milliseconds(100)))
        for attempt in 0..<30 {
            guard case .connect = pool.connectFailed(0, .busy(retryAfter: nil), now: start + .seconds(20), random: &random) else {
                Issue.record("gave up at attempt \(attempt) within the budget"); return
            }
        }
        let after = pool.connectFailed(0, .busy(retryAfter: nil), now: start + .seconds(601), random: &random)
        #expect(after == .giveUpBusy(refusedFor: .seconds(601)))
    }

    @Test mutating func refusedCredentialsStopAtOnce() {
        var pool = pool(2)
        #expect(pool.connectFailed(0, .authentication, now: start, random: &random) == .giveUpAuthentication)
        #expect(Pool.ConnectFailure(ShieldConexError.authenticationFailed(status: 401)) == .authentication)
        #expect(Pool.ConnectFailure(ShieldConexError.handshakeRefused(status: 503, reason: "busy", retryAfter: .seconds(1))) == .busy(retryAfter: .seconds(1)))
        #expect(Pool.ConnectFailure(ShieldConexError.handshakeRefused(status: 418, reason: "teapot")) == .unreachable)
    }

    @Test mutating func aStoppingPoolOpensNothingMore() {
        var pool = pool(2)
        let generation = pool.connected(0, now: start) { $0 }
        pool.stop()
        #expect(pool.closed(0, generation: generation, random: &random) == .none)
        #expect(pool.sessions[0].state == .down && pool.reconnects == 0)
        #expect(pool.connectFailed(1, .unreachable, now: start, random: &random) == .none)
        #expect(pool.sessions[1].state == .down)
    }

    @Test mutating func sessionsAddedForAWiderWindowConnectAtOnceAndTakeTheirShare() {
        var pool = pool(2, maxInFlight: 4)
        _ = pool.connected(0, now: start) { $0 }
        _ = pool.connected(1, now: start) { $0 }
        for _ in 0..<3 {
            pool.sent(on: 0)
            pool.sent(on: 1)
        }
        #expect(pool.add(2) == [.connect(session: 2, after: .zero), .connect(session: 3, after: .zero)])
        #expect(pool.sessions.count == 4 && pool.initialCount == 2 && pool.inFlight == 6)
        // Not up yet: the old ones take the next requests; once up, the new one does.
        #expect(pool.leastLoaded() == 0)
        _ = pool.connected(3, now: start) { $0 }
        #expect(pool.leastLoaded() == 3)
        #expect(pool.add(0) == [])
    }

    @Test mutating func aServiceThatRefusesAnAddedConnectionGetsNoMore() {
        var pool = pool(1)
        _ = pool.connected(0, now: start) { $0 }
        _ = pool.add(1)
        // Busy (503) for the added one while the first is up: it stays down, and the pool adds
        // no more; the first connection is not affected.
        #expect(pool.connectFailed(1, .busy(retryAfter: nil), now: start, random: &random) == .none)
        #expect(pool.refusedMore && pool.sessions[1].state == .down)
        #expect(pool.add(4) == [])
        #expect(pool.leastLoaded() == 0)
        // The sessions it started with are retried when refused, as before.
        let generation = pool.sessions[0].generation
        #expect(pool.closed(0, generation: generation, random: &random) != .none)
        #expect(pool.connectFailed(0, .busy(retryAfter: nil), now: start, random: &random) != .none)
    }

    @Test mutating func aStoppingPoolAddsNoSessions() {
        var pool = pool(1)
        pool.stop()
        #expect(pool.add(3) == [] && pool.sessions.count == 1)
    }

    /// Each up session holds its connection's handle; a closing of its generation lets go of
    /// it, and the driver can take them all at the end.
    @Test func upSessionsHoldTheirHandles() {
        var pool = pool(3)
        var random = SystemRandomNumberGenerator()
        pool.connected(0, now: start) { $0 * 100 }
        pool.connected(2, now: start) { $0 * 100 }
        #expect((0..<3).map { pool.handle($0) } == [100, nil, 100])
        _ = pool.closed(2, generation: 1, random: &random)
        #expect(pool.handle(2) == nil)
        pool.connected(2, now: start) { $0 * 100 }
        #expect(pool.handle(2) == 200)
        #expect(pool.takeHandles().sorted() == [100, 200])
        #expect((0..<3).allSatisfy { pool.handle($0) == nil })
    }

    /// A larger window wants more sessions, one per `perConnection` of it, up to the most; never
    /// fewer, and none once the pool stops.
    @Test func aGrowingWindowAddsSessionsUpToTheMost() {
        var pool = pool(2)
        #expect(pool.grow(toCarry: 100, perConnection: 64, atMost: 16).isEmpty, "two carry 128")
        #expect(pool.grow(toCarry: 300, perConnection: 64, atMost: 16) == [.connect(session: 2, after: .zero), .connect(session: 3, after: .zero), .connect(session: 4, after: .zero)])
        #expect(pool.grow(toCarry: 4_096, perConnection: 64, atMost: 16).count == 11, "up to the most: 16")
        #expect(pool.grow(toCarry: 64, perConnection: 64, atMost: 16).isEmpty && pool.sessions.count == 16, "never fewer")
        var stopping = self.pool(2)
        stopping.stop()
        #expect(stopping.grow(toCarry: 4_096, perConnection: 64, atMost: 16).isEmpty)
    }
}
