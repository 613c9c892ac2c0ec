import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// The WebSocket upgrade of a client connection. The handshake itself (the key sent, the
/// server's `Sec-WebSocket-Accept` checked) is NIO's; what follows the upgrade is ours: the
/// frame encoder (control frames), the ``RawFrameGate`` (batches of requests as ready-made
/// frames), the ``ServerFrameReader`` (the server's frames) and the ``ShieldConexClientHandler``.
struct ShieldConexUpgrader: NIOTypedHTTPClientProtocolUpgrader {
    typealias UpgradeResult = ShieldConexConnection.UpgradeResult

    private let handshake: NIOTypedWebSocketClientUpgrader<UpgradeResult>
    private let configuration: ConnectionConfiguration
    private let logger: Logger

    init(configuration: ConnectionConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        // Its pipeline is never used: `upgrade` below builds ours.
        handshake = NIOTypedWebSocketClientUpgrader(maxFrameSize: configuration.maxFrameSize) { channel, _ in
            channel.eventLoop.makeFailedFuture(ShieldConexError.handshakeFailed("unexpected upgrade path"))
        }
    }

    var supportedProtocol: String { handshake.supportedProtocol }
    var requiredUpgradeHeaders: [String] { handshake.requiredUpgradeHeaders }

    func addCustom(upgradeRequestHeaders: inout HTTPHeaders) {
        handshake.addCustom(upgradeRequestHeaders: &upgradeRequestHeaders)
    }

    func shouldAllowUpgrade(upgradeResponse: HTTPResponseHead) -> Bool {
        handshake.shouldAllowUpgrade(upgradeResponse: upgradeResponse)
    }

    func upgrade(channel: any Channel, upgradeResponse: HTTPResponseHead) -> EventLoopFuture<UpgradeResult> {
        let (configuration, logger) = (self.configuration, self.logger)
        return channel.eventLoop.makeCompletedFuture {
            let sync = channel.pipeline.syncOperations
            let encoder = WebSocketFrameEncoder()
            try sync.addHandler(encoder)
            // Batches of requests are written as ready-made frames just past the frame encoder.
            let gate = RawFrameGate()
            try sync.addHandler(gate, position: .before(encoder))
            let handler = ShieldConexClientHandler(configuration: configuration, logger: logger, frameGate: gate)
            try sync.addHandler(
                ServerFrameReader(handler: handler, maxFrameSize: configuration.maxFrameSize, maxMessageSize: configuration.maxMessageSize)
            )
            try sync.addHandler(handler)
            return UpgradeResult.websocket(channel)
        }
    }
}
