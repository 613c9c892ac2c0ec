import NIOCore
import ShieldConex
import Testing

/// Heartbeats and dead-connection detection of one connection, with no socket and no clock.
struct ConnectionHealthTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test func aHeartbeatGoesEveryIntervalBusyOrIdleAndOneAtATime() {
        var health = ConnectionHealth(interval: .seconds(5), now: start)
        #expect(health.tick(now: start + .seconds(4), expired: (0, false)) == .none)
        #expect(health.tick(now: start + .seconds(5), expired: (0, false)) == .sendHeartbeat)
        #expect(health.heartbeatPending)
        #expect(health.tick(now: start + .seconds(11), expired: (0, false)) == .none, "one heartbeat at a time")
        health.heartbeatAnswered()
        #expect(health.tick(now: start + .seconds(11), expired: (0, false)) == .sendHeartbeat)
    }

    @Test func anUnansweredHeartbeatMeansADeadConnection() {
        var health = ConnectionHealth(interval: .seconds(5), now: start)
        _ = health.tick(now: start + .seconds(5), expired: (0, false))
        #expect(health.tick(now: start + .seconds(15), expired: (0, true)) == .close(.heartbeatUnanswered))
        #expect(ConnectionHealth.DeadReason.heartbeatUnanswered.error == .heartbeatTimeout)
    }

    @Test func aRequestPastItsDeadlineClosesAHalfOpenConnection() {
        var health = ConnectionHealth(interval: .seconds(5), now: start)
        #expect(health.tick(now: start + .seconds(1), expired: (3, false)) == .close(.requestsUnanswered(count: 3)))
        let error = ConnectionHealth.DeadReason.requestsUnanswered(count: 3).error
        #expect(error.isRetryable && "\(error)".contains("3 requests were not answered in time"))
    }
}
