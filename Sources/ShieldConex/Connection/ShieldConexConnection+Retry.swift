import Logging
import NIOCore
import NIOPosix
import NIOSSL

extension ShieldConexConnection {
    /// Connects like ``connect(to:key:configuration:tlsContext:group:logger:)``, and connects
    /// again while the server refuses the handshake with 429 or 503 (busy, not refusing us): with
    /// exponential backoff from half a second up to 30 s, never sooner than its `Retry-After`, for
    /// at most `budget`. Every other failure is thrown at once.
    public static func connectRetryingRefusals(
        to endpoint: Endpoint,
        key: APIKey,
        for budget: Duration,
        configuration: ConnectionConfiguration = .init(),
        tlsContext: NIOSSLContext? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "shieldconex")
    ) async throws -> ShieldConexConnection {
        let start = ContinuousClock.now
        var attempt = 0
        while true {
            do {
                return try await connect(
                    to: endpoint, key: key, configuration: configuration, tlsContext: tlsContext, group: group, logger: logger
                )
            } catch let error as ShieldConexError where error.isTransientRefusal {
                attempt += 1
                let backoff = min(Duration.milliseconds(500) * (1 << min(attempt - 1, 6)), .seconds(30))
                let wait = max(backoff * Double.random(in: 0.75...1.25), error.retryAfter ?? .zero)
                guard ContinuousClock.now - start + wait <= budget else { throw error }
                logger.notice("the service is busy; connecting again", metadata: ["error": "\(error)", "wait": "\(wait)"])
                try await Task.sleep(for: wait)
            }
        }
    }

    /// Sends a request and sends it again while the answer is a transient failure (8001, 1429)
    /// or the answer is lost to a timeout, with backoff, for at most `budget`. For requests that
    /// are safe to repeat (validation, heartbeat); the last answer or error is returned.
    public func sendRetryingTransient(_ request: Request, for budget: Duration) async throws -> Response {
        let start = ContinuousClock.now
        var attempt = 0
        while true {
            attempt += 1
            let wait = min(Duration.milliseconds(100) * (1 << min(attempt - 1, 8)), .seconds(30)) * Double.random(in: 0.5...1.5)
            let withinBudget = ContinuousClock.now - start + wait <= budget
            do {
                let response = try await send(request)
                guard !response.success, let code = response.failure?.code, code.isTransient, withinBudget else { return response }
            } catch let error as ShieldConexError where error == .timeout && withinBudget {
                // A lost answer to a validation is asked again.
            }
            try await Task.sleep(for: wait)
        }
    }
}
