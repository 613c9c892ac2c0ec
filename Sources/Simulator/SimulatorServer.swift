import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import ShieldConex

/// A ShieldConex-compatible WebSocket server on SwiftNIO.
///
/// Each connection is its own channel with its own handlers, so one misbehaving client never
/// affects another; the shared ``SimulatorEngine`` holds the protocol state.
public final class SimulatorServer: Sendable {
    public let engine: SimulatorEngine
    private let serverChannel: any Channel
    private let connections: NIOLockedValueBox<[ObjectIdentifier: any Channel]>
    /// The bound host and port.
    public let host: String
    public let port: Int
    public let isTLS: Bool

    private init(
        engine: SimulatorEngine, serverChannel: any Channel, connections: NIOLockedValueBox<[ObjectIdentifier: any Channel]>,
        host: String, port: Int, isTLS: Bool
    ) {
        self.engine = engine
        self.serverChannel = serverChannel
        self.connections = connections
        self.host = host
        self.port = port
        self.isTLS = isTLS
    }

    /// The URL clients connect to, e.g. `ws://127.0.0.1:41234`.
    public var url: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "\(isTLS ? "wss" : "ws")://\(hostPart):\(port)"
    }

    public var statistics: SimulatorStatistics { engine.statistics }

    /// Binds and starts serving; returns once the server is listening.
    public static func start(
        configuration: SimulatorConfiguration,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "simulator")
    ) async throws -> SimulatorServer {
        precondition(!configuration.keys.isEmpty, "a simulator needs at least one accepted key")
        let engine = SimulatorEngine(configuration: configuration)
        let sslContext = try configuration.tls.map { tls in
            let chain = try NIOSSLCertificate.fromPEMFile(tls.certificateChain).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: tls.privateKey, format: .pem)
            return try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
        }
        let connections = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
        let baseSeed = configuration.seed ?? UInt64.random(in: .min ... .max)
        let connectionCounter = NIOLockedValueBox<UInt64>(0)

        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let sslContext {
                        try sync.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    let upgrader = NIOWebSocketServerUpgrader(
                        maxFrameSize: configuration.maxFrameSize,
                        automaticErrorHandling: true,
                        shouldUpgrade: { channel, head in
                            let authorized = engine.acceptedKey(authorization: head.headers.first(name: "Authorization")) != nil
                            guard authorized, engine.openConnection() else {
                                return channel.eventLoop.makeSucceededFuture(nil)
                            }
                            return channel.eventLoop.makeSucceededFuture(HTTPHeaders())
                        },
                        upgradePipelineHandler: { channel, head in
                            channel.eventLoop.makeCompletedFuture {
                                let key = engine.acceptedKey(authorization: head.headers.first(name: "Authorization")) ?? ""
                                let index = connectionCounter.withLockedValue { value -> UInt64 in
                                    value += 1
                                    return value
                                }
                                let sync = channel.pipeline.syncOperations
                                sync.removeHandler(context: try sync.context(name: HandshakeRefusalResponder.name), promise: nil)
                                try sync.addHandler(
                                    NIOWebSocketFrameAggregator(
                                        minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1 << 16,
                                        maxAccumulatedFrameSize: 4 << 20
                                    )
                                )
                                if let idle = configuration.idleTimeout {
                                    try sync.addHandler(IdleStateHandler(readTimeout: idle.timeAmount))
                                }
                                try sync.addHandler(
                                    SimulatorConnectionHandler(
                                        engine: engine, key: key, seed: baseSeed &+ index &* 0x9E37_79B9_7F4A_7C15
                                    )
                                )
                                let id = ObjectIdentifier(channel)
                                connections.withLockedValue { $0[id] = channel }
                                channel.closeFuture.whenComplete { _ in
                                    connections.withLockedValue { _ = $0.removeValue(forKey: id) }
                                    engine.closeConnection()
                                }
                            }
                        }
                    )
                    try sync.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in })
                    )
                    try sync.addHandler(HandshakeRefusalResponder(engine: engine), name: HandshakeRefusalResponder.name)
                }
            }
        let channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        let port = channel.localAddress?.port ?? configuration.port
        logger.info("simulator listening", metadata: ["simulator.port": "\(port)"])
        return SimulatorServer(
            engine: engine, serverChannel: channel, connections: connections, host: configuration.host, port: port,
            isTLS: sslContext != nil
        )
    }

    /// Stops listening and closes every open connection.
    public func stop() async {
        try? await serverChannel.close()
        let open = connections.withLockedValue { Array($0.values) }
        for channel in open {
            try? await channel.close()
        }
    }
}

/// Answers an HTTP request that was not upgraded: 401 for a missing or wrong key, 503 when the
/// connection limit is reached, 426 for a request that is not a WebSocket handshake.
final class HandshakeRefusalResponder: ChannelInboundHandler, RemovableChannelHandler {
    static let name = "scx.handshake-refusal"
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let engine: SimulatorEngine

    init(engine: SimulatorEngine) {
        self.engine = engine
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        let status: HTTPResponseStatus
        var headers = HTTPHeaders()
        let body: String
        if engine.acceptedKey(authorization: head.headers.first(name: "Authorization")) == nil {
            status = .unauthorized
            headers.add(name: "WWW-Authenticate", value: "Basic realm=\"ShieldConex\"")
            body = "{\"success\":false,\"code\":8003,\"message\":\"Authentication Error\"}"
            engine.update { $0.handshakesRefused += 1 }
        } else if head.headers.contains(name: "Upgrade") {
            status = .serviceUnavailable
            headers.add(name: "Retry-After", value: "1")
            body = "{\"success\":false,\"code\":8001,\"message\":\"Too many connections\"}"
        } else {
            status = .upgradeRequired
            headers.add(name: "Upgrade", value: "websocket")
            body = "{\"success\":false,\"code\":8001,\"message\":\"WebSocket upgrade required\"}"
        }
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension HandshakeRefusalResponder: Sendable {}
