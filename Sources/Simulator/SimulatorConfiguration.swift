import ShieldConex

/// Settings of a ``SimulatorServer``: where it listens, what it serves, and the faults it injects.
public struct SimulatorConfiguration: Sendable {
    /// Address to bind. Default `127.0.0.1`.
    public var host = "127.0.0.1"
    /// Port to bind; 0 picks a free one. Default 0.
    public var port = 0
    /// The templates served.
    public var templates: TemplateSet = .builtIn
    /// API keys accepted in `Authorization: Basic <key>`; at least one is required.
    public var keys: [String] = []
    /// PEM certificate chain and private key: serve `wss://` instead of `ws://`.
    public var tls: (certificateChain: String, privateKey: String)?
    /// Mean added latency per response; each answer waits an exponentially distributed time
    /// with this mean, so answers come back out of order. Default none.
    public var latency: Duration?
    /// At most this many requests processed at once over all connections, each for
    /// ``processing``; the rest wait in one queue, first come first served (``ServiceQueue``), so
    /// the latency rises with the load. Heartbeats and throttled requests do not queue. `latency`
    /// is added on top, as the network's part. Default: no limit (answered at once).
    public var capacity: Int?
    /// How long one request occupies one of the ``capacity`` workers. Default 10 ms.
    public var processing: Duration = .milliseconds(10)
    /// Probability (0...1) that a request other than heartbeat is answered with 8001. Default 0.
    public var errorRate: Double = 0
    /// Reset a connection (TCP RST, no close frame) when its request number N+1 arrives. Default never.
    public var dropAfter: Int?
    /// Reset the connection (TCP RST) that carries the server's request number N (counted over
    /// all connections from 1), for each N here: faults at chosen points of a run. Default none.
    public var resetAt: Set<Int> = []
    /// The connection that carries the server's request number N stops answering and reading,
    /// and stays open (a half-open connection), for each N here. Default none.
    public var stallAt: Set<Int> = []
    /// Requests per second allowed per key (burst: one second's worth); excess is answered with 1429.
    public var rateLimit: Double?
    /// The error code of a throttled answer: 1429 (ours) by default, or 8001, the only
    /// server-side code the ORCA document lists, as a real service may use.
    public var throttleCode: ErrorCode = .rateLimited
    /// Answer 1004 (`Duplicate field: NAME`) to a request whose `values` name a field twice, as
    /// a strict service may: the documents never say that a name may repeat.
    public var refuseRepeatedFields = false
    /// Close connections (close frame 1001) that sent nothing for this long. Default never.
    public var idleTimeout: Duration?
    /// At most this many WebSocket connections at once; more are refused with HTTP 503.
    public var maxConnections: Int?
    /// Seed for the fault-injection randomness; `nil` seeds from the system.
    public var seed: UInt64?
    /// Tokenize answers get messageIds (and so bfids) that are a function of the request's
    /// `reference` and values instead of the clock: a request sent again gets the same bfid, so
    /// runs can be compared byte for byte. Off by default (the real service issues a new bfid
    /// for every request).
    public var deterministicIds = false
    /// Invalid-value answers quote the value ("Invalid value 4000... for field card_number"), as
    /// some services do: for testing that clients never show such messages unmasked.
    public var echoValuesInErrors = false
    /// Secret for tokens and bfids. The default is fixed, so tokens are the same across runs
    /// (token idempotency holds across simulator restarts, as it does against the real service).
    public var tokenSecret = "batch-tokenize simulator token secret v1"
    /// Largest frame accepted. Default 1 MiB.
    public var maxFrameSize = 1 << 20

    public init() {}
}
