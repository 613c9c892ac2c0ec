import Pipeline
import ShieldConex
import Testing

/// Backoff doubles from 50 ms with ±50% jitter, never above 30 s; a record is retried for a time
/// budget, not a number of attempts. The random source is a parameter, so this is deterministic.
struct RetryPolicyTests {
    /// A fixed sequence: the same jitter every run.
    struct Counter: RandomNumberGenerator {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state
        }
    }

    @Test func backoffDoublesWithJitterUpToTheCap() {
        let policy = RetryPolicy()
        var random = Counter()
        for attempt in 2...12 {
            let base = min(0.05 * Double(1 << (attempt - 2)), 30)
            let wait = policy.backoff(beforeAttempt: attempt, using: &random)
            let seconds = Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18
            #expect(seconds >= base * 0.5 - 1e-9 && seconds <= min(base * 1.5, 30) + 1e-9, "attempt \(attempt): \(seconds) s")
        }
        for attempt in [20, 40, 1_000, Int.max] {
            #expect(policy.backoff(beforeAttempt: attempt, using: &random) <= .seconds(30))
        }
    }

    @Test func theSameRandomSourceGivesTheSameWaits() {
        let policy = RetryPolicy()
        var first = Counter()
        var second = Counter()
        let a = (2...10).map { policy.backoff(beforeAttempt: $0, using: &first) }
        let b = (2...10).map { policy.backoff(beforeAttempt: $0, using: &second) }
        #expect(a == b)
    }

    @Test func theBudgetIsTimeNotAttempts() {
        var policy = RetryPolicy()
        #expect(policy.budget == .seconds(600))
        #expect(policy.allowsRetry(after: .seconds(599)))
        #expect(!policy.allowsRetry(after: .seconds(600)))
        policy.budget = .zero
        #expect(!policy.allowsRetry(after: .zero))
    }
}
