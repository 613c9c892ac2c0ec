import NIOCore

/// A token bucket: `rate` requests per second with bursts of at most `burst`. Pure state: the
/// caller passes the time, so it is tested without clocks.
public struct RateLimiter: Sendable, Hashable {
    public private(set) var rate: Double
    public private(set) var burst: Double
    private var tokens: Double
    private var last: NIODeadline?

    public init(rate: Double, burst: Double? = nil) {
        precondition(rate > 0, "a rate limit must be positive")
        self.rate = rate
        self.burst = max(1, burst ?? rate / 10)
        self.tokens = self.burst
    }

    /// Changes the rate (and the burst to a tenth of a second's worth, at least 1), keeping the
    /// tokens already earned up to the new burst.
    public mutating func adjust(rate: Double) {
        precondition(rate > 0, "a rate limit must be positive")
        self.rate = rate
        burst = max(1, rate / 10)
        tokens = min(tokens, burst)
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
