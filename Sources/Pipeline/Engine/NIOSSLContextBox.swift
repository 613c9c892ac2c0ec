import NIOConcurrencyHelpers
import NIOSSL
import ShieldConex

/// One TLS context for all of a job's connections, built on first use.
final class NIOSSLContextBox: Sendable {
    private let box = NIOLockedValueBox<NIOSSLContext?>(nil)

    func context(for configuration: BatchJob.Configuration) throws -> NIOSSLContext? {
        guard configuration.endpoint.scheme == .wss else { return nil }
        return try box.withLockedValue { cached in
            if let cached { return cached }
            let context = try ShieldConexConnection.makeTLSContext(extraCAFile: configuration.connection.extraCAFile)
            cached = context
            return context
        }
    }
}
