/// How often and how soon a failed request is sent again.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts per record, the first included. Default 5.
    public var maxAttempts = 5
    /// The first backoff; each retry doubles it, up to `maxBackoff`, with ±50% jitter.
    public var baseBackoff: Duration = .milliseconds(25)
    public var maxBackoff: Duration = .seconds(5)

    public init() {}

    /// The wait before attempt `attempt` (2 for the first retry).
    public func backoff(beforeAttempt attempt: Int) -> Duration {
        let exponent = min(max(attempt - 2, 0), 20)
        let base = min(baseBackoff * (1 << exponent), maxBackoff)
        return base * Double.random(in: 0.5...1.5)
    }
}
