/// How soon a request that failed transiently is sent again, and for how long.
///
/// A record is retried for a time budget, not a number of attempts: a service that throttles for
/// a minute should cost a minute, not the record.
public struct RetryPolicy: Sendable, Hashable {
    /// How long a record keeps being retried after its first transient failure (`--retry-for`).
    /// Default 10 minutes.
    public var budget: Duration = .seconds(600)
    /// The first backoff; each retry doubles it, up to `maxBackoff`, with ±50% jitter.
    public var baseBackoff: Duration = .milliseconds(50)
    /// The longest wait between two attempts. Default 30 s.
    public var maxBackoff: Duration = .seconds(30)

    public init() {}

    /// The wait before attempt `attempt` (2 for the first retry), jittered with `random`.
    public func backoff<Random: RandomNumberGenerator>(beforeAttempt attempt: Int, using random: inout Random) -> Duration {
        let exponent = min(max(attempt - 2, 0), 30)
        let base = min(baseBackoff * (1 << exponent), maxBackoff)
        return min(base * Double.random(in: 0.5...1.5, using: &random), maxBackoff)
    }

    /// The wait before attempt `attempt`, jittered with the system's random source.
    public func backoff(beforeAttempt attempt: Int) -> Duration {
        var random = SystemRandomNumberGenerator()
        return backoff(beforeAttempt: attempt, using: &random)
    }

    /// Whether a record that first failed transiently `elapsed` ago may be tried again.
    public func allowsRetry(after elapsed: Duration) -> Bool { elapsed < budget }
}
