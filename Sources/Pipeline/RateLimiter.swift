import NIOCore

/// A token bucket: `rate` requests per second with bursts of at most `burst`. Pure state: the
/// caller passes the time, so it is tested without clocks.
public struct RateLimiter: Sendable, Hashable {
    public let rate: Double
    public let burst: Double
    private var tokens: Double
    private var last: NIODeadline?

    public init(rate: Double, burst: Double? = nil) {
        precondition(rate > 0, "a rate limit must be positive")
        self.rate = rate
        self.burst = max(1, burst ?? rate / 10)
        self.tokens = self.burst
    }

    /// Takes a token if one is available (returns `nil`); otherwise returns how long to wait.
    public mutating func take(now: NIODeadline) -> TimeAmount? {
        if let last, now > last {
            tokens = min(burst, tokens + Double((now - last).nanoseconds) / 1e9 * rate)
        }
        last = now
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        return .nanoseconds(Int64(((1 - tokens) / rate * 1e9).rounded(.up)))
    }
}
