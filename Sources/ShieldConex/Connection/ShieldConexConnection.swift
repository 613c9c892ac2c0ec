import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket

/// One WebSocket connection to ShieldConex, with many requests in flight.
///
/// Requests are pipelined: each gets its own traceId and its answer is matched by traceId,
/// whatever order answers arrive in. The connection is `Sendable`; its protocol state lives
/// in a ``ShieldConexClientHandler`` on the channel's event loop.
public final class ShieldConexConnection: Sendable {
    public let channel: any Channel
    public let endpoint: Endpoint

    init(channel: any Channel, endpoint: Endpoint) {
        self.channel = channel
        self.endpoint = endpoint
    }

    /// Sends one request; the future gets the answer (which may be `success: false`) or a
    /// ``ShieldConexError`` (invalid request, timeout, lost connection).
    public func send(_ request: Request, timeout: Duration? = nil) -> EventLoopFuture<Response> {
        let promise = channel.eventLoop.makePromise(of: Response.self)
        do {
            try request.validate()
        } catch {
            promise.fail(error)
            return promise.futureResult
        }
        let command = ClientCommand.send(request, promise, timeout: timeout?.timeAmount)
        let channel = self.channel
        if channel.eventLoop.inEventLoop {
            Self.submit([command], on: channel)
        } else {
            channel.eventLoop.execute { Self.submit([command], on: channel) }
        }
        return promise.futureResult
    }

    /// Writes commands with one flush, on the event loop. A closed channel no longer reaches the
    /// handler, so its requests are failed here rather than left waiting.
    private static func submit(_ commands: [ClientCommand], on channel: any Channel) {
        guard channel.isActive else {
            for command in commands {
                switch command {
                case .send(_, let promise, _): promise.fail(ShieldConexError.connectionClosed)
                case .sendAll(let batch): for tag in batch.tags { batch.receiver.received(.failure(ShieldConexError.connectionClosed), tag: tag) }
                case .close, .abandon: break
                }
            }
            return
        }
        for command in commands { channel.write(command, promise: nil) }
        channel.flush()
    }

    /// Sends several requests with one flush; the futures are in the order of `requests`.
    public func send(_ requests: [Request], timeout: Duration? = nil) -> [EventLoopFuture<Response>] {
        var futures: [EventLoopFuture<Response>] = []
        futures.reserveCapacity(requests.count)
        var commands: [ClientCommand] = []
        commands.reserveCapacity(requests.count)
        for request in requests {
            let promise = channel.eventLoop.makePromise(of: Response.self)
            futures.append(promise.futureResult)
            do {
                try request.validate()
                commands.append(.send(request, promise, timeout: timeout?.timeAmount))
            } catch {
                promise.fail(error)
            }
        }
        let channel = self.channel
        if channel.eventLoop.inEventLoop {
            Self.submit(commands, on: channel)
        } else {
            let ready = commands
            channel.eventLoop.execute { Self.submit(ready, on: channel) }
        }
        return futures
    }

    /// Sends several requests with one flush, without a promise each: every answer (or failure)
    /// reaches `receiver` on the connection's event loop with the tag its request was sent with.
    /// A request that is not valid (nothing is sent) is reported at once, on the caller's thread.
    public func send(_ requests: [Request], tags: [Int], to receiver: any AnswerReceiver, timeout: Duration? = nil) {
        var bodies = EncodedRequests(reservingCapacity: requests.count)
        var validTags: [Int] = []
        validTags.reserveCapacity(requests.count)
        for (request, tag) in zip(requests, tags) {
            do {
                try request.validate()
                bodies.append(request)
                validTags.append(tag)
            } catch {
                receiver.received(.failure(error), tag: tag)
            }
        }
        send(bodies, tags: validTags, to: receiver, timeout: timeout)
    }

    /// Sends requests already written by a ``RequestShape`` (which validated them), with one
    /// flush; answers reach `receiver` as with ``send(_:tags:to:timeout:)-([Request],_,_,_)``.
    public func send(_ bodies: EncodedRequests, tags: [Int], to receiver: any AnswerReceiver, timeout: Duration? = nil) {
        guard !bodies.isEmpty else { return }
        let command = ClientCommand.sendAll(RequestBatch(bodies: bodies, tags: tags, receiver: receiver, timeout: timeout?.timeAmount))
        let channel = self.channel
        if channel.eventLoop.inEventLoop {
            Self.submit([command], on: channel)
        } else {
            channel.eventLoop.execute { Self.submit([command], on: channel) }
        }
    }

    /// Sends one request and waits for its answer.
    public func send(_ request: Request, timeout: Duration? = nil) async throws -> Response {
        try await send(request, timeout: timeout).get()
    }

    /// Closes with a close handshake (close frame, the server's close frame, then TCP close).
    public func close() async {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(ClientCommand.close(promise), promise: nil)
        channel.closeFuture.whenComplete { _ in promise.succeed(()) }
        try? await promise.futureResult.get()
        try? await channel.closeFuture.get()
    }

    /// Gives the connection up at once, without a close handshake (a half-open connection would
    /// not answer one): every request in flight fails with ``ShieldConexError/connectionLost(_:)``
    /// and `reason`, and the channel closes.
    public func abandon(_ reason: String) {
        channel.writeAndFlush(ClientCommand.abandon(reason: reason), promise: nil)
    }

    /// Completes when the connection is closed, for whatever reason.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    public var isActive: Bool { channel.isActive }
}

extension ShieldConexConnection {
    enum UpgradeResult {
        case websocket(any Channel)
        case notUpgraded(EventLoopFuture<HandshakeRefusalHandler.Refusal>)
    }

    /// Builds the TLS context for `wss://` connections: the system's roots plus an optional
    /// extra CA file, full certificate verification always. Build one and share it across a pool.
    public static func makeTLSContext(extraCAFile: String?) throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        tls.minimumTLSVersion = .tlsv12
        if let extraCAFile {
            tls.additionalTrustRoots = [.file(extraCAFile)]
        }
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw ShieldConexError.tls("cannot build the TLS context: \(error)")
        }
    }

    /// Connects and completes the WebSocket handshake with `Authorization: Basic <key>`.
    ///
    /// A 401 or 403 answer to the handshake throws ``ShieldConexError/authenticationFailed(status:message:)``,
    /// any other answer but 101 ``ShieldConexError/handshakeRefused(status:reason:retryAfter:)``.
    public static func connect(
        to endpoint: Endpoint,
        key: APIKey,
        configuration: ConnectionConfiguration = .init(),
        tlsContext: NIOSSLContext? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "shieldconex")
    ) async throws -> ShieldConexConnection {
        try endpoint.checkTransport(allowInsecure: configuration.allowInsecureTransport)
        let sslContext: NIOSSLContext?
        if endpoint.scheme == .wss {
            sslContext = try tlsContext ?? makeTLSContext(extraCAFile: configuration.extraCAFile)
        } else {
            sslContext = nil
        }
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(configuration.connectTimeout.timeAmount)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)

        let channel: any Channel
        let upgrade: EventLoopFuture<UpgradeResult>
        do {
            (channel, upgrade) = try await bootstrap.connect(host: endpoint.host, port: endpoint.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    (channel, try configurePipeline(
                        channel: channel, endpoint: endpoint, key: key, sslContext: sslContext,
                        configuration: configuration, logger: logger
                    ))
                }
            }
        } catch {
            throw ShieldConexError.connectionLost("cannot connect to \(endpoint.hostHeader): \(error)")
        }

        let result: UpgradeResult
        do {
            result = try await withHandshakeTimeout(upgrade, after: configuration.handshakeTimeout)
        } catch {
            // A failed or timed-out handshake must not leave the socket open.
            channel.close(promise: nil)
            throw translateHandshakeError(error)
        }

        switch result {
        case .websocket(let channel):
            return ShieldConexConnection(channel: channel, endpoint: endpoint)
        case .notUpgraded(let refusalFuture):
            let refusal: HandshakeRefusalHandler.Refusal
            // A server that sends a head and then neither a body end nor a close gets two seconds.
            let cutOff = channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
            defer { cutOff.cancel() }
            do {
                refusal = try await refusalFuture.get()
            } catch {
                channel.close(promise: nil)
                throw translateHandshakeError(error)
            }
            channel.close(promise: nil)
            throw HandshakeRefusal.error(head: refusal.head, body: refusal.body, key: key)
        }
    }

    private static func withHandshakeTimeout(
        _ upgrade: EventLoopFuture<UpgradeResult>, after duration: Duration
    ) async throws -> UpgradeResult {
        let eventLoop = upgrade.eventLoop
        let promise = eventLoop.makePromise(of: UpgradeResult.self)
        let task = eventLoop.scheduleTask(in: duration.timeAmount) {
            promise.fail(ShieldConexError.handshakeFailed("no answer to the handshake within \(duration)"))
        }
        upgrade.whenComplete { result in
            task.cancel()
            promise.completeWith(result)
        }
        return try await promise.futureResult.get()
    }

    private static func translateHandshakeError(_ error: any Error) -> ShieldConexError {
        switch error {
        case let error as ShieldConexError: error
        case let error as NIOSSLError: tlsError("\(error)")
        case let error as BoringSSLError: tlsError("\(error)")
        case let error as NIOSSLExtraError where error == .failedToValidateHostname:
            .certificateNotTrusted("it is not valid for the host name")
        case let error as NIOSSLExtraError: tlsError("\(error)")
        default: .handshakeFailed("\(error)")
        }
    }

    /// A certificate that did not verify is said in words; other TLS failures as they came.
    private static func tlsError(_ text: String) -> ShieldConexError {
        let lowered = text.lowercased()
        if lowered.contains("certificate_verify_failed") || lowered.contains("certificate verify failed") {
            return .certificateNotTrusted("it is not signed by a trusted certificate authority, or has expired")
        }
        return .tls(text)
    }

    static func configurePipeline(
        channel: any Channel, endpoint: Endpoint, key: APIKey, sslContext: NIOSSLContext?,
        configuration: ConnectionConfiguration, logger: Logger
    ) throws -> EventLoopFuture<UpgradeResult> {
        let sync = channel.pipeline.syncOperations
        if let sslContext {
            let isIPAddress = (try? SocketAddress(ipAddress: endpoint.host, port: 0)) != nil
            // For an IP literal there is no SNI; NIOSSL then checks the certificate against the address.
            let handler = try NIOSSLClientHandler(context: sslContext, serverHostname: isIPAddress ? nil : endpoint.host)
            try sync.addHandler(handler, position: .first)
        }
        let upgrader = ShieldConexUpgrader(configuration: configuration, logger: logger)
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: endpoint.hostHeader)
        headers.add(name: "Authorization", value: key.authorizationHeader)
        // Nothing else: strict servers (Python's websockets, some proxies) refuse a handshake
        // that announces a body, even `Content-Length: 0` (RFC 6455 §4.1 lists what belongs here).
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: endpoint.path, headers: headers)
        let upgradeConfiguration = NIOTypedHTTPClientUpgradeConfiguration<UpgradeResult>(
            upgradeRequestHead: head,
            upgraders: [upgrader],
            notUpgradingCompletionHandler: { channel in
                channel.eventLoop.makeCompletedFuture {
                    let catcher = HandshakeRefusalHandler(eventLoop: channel.eventLoop)
                    try channel.pipeline.syncOperations.addHandler(catcher)
                    return UpgradeResult.notUpgraded(catcher.refusal)
                }
            }
        )
        return try sync.configureUpgradableHTTPClientPipeline(configuration: .init(upgradeConfiguration: upgradeConfiguration))
    }
}
