import Logging
import NIOCore
import NIOSSL

/// Opens connections to one ShieldConex endpoint with one set of credentials and settings, all
/// with one TLS context, built once (for a run: its preflight checks and every connection of its
/// engine).
public struct ShieldConexConnector: Sendable {
    public let endpoint: Endpoint
    public let key: APIKey
    public let configuration: ConnectionConfiguration
    public let tlsContext: NIOSSLContext?
    public let logger: Logger

    public init(endpoint: Endpoint, key: APIKey, configuration: ConnectionConfiguration, logger: Logger) throws {
        self.endpoint = endpoint
        self.key = key
        self.configuration = configuration
        self.logger = logger
        tlsContext = endpoint.scheme == .wss ? try ShieldConexConnection.makeTLSContext(extraCAFile: configuration.extraCAFile) : nil
    }

    /// Opens a connection whose channel lives on `loop`.
    public func open(on loop: any EventLoop) async throws -> ShieldConexConnection {
        try await ShieldConexConnection.connect(
            to: endpoint, key: key, configuration: configuration, tlsContext: tlsContext, group: loop, logger: logger
        )
    }
}
