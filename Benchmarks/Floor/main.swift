// The wire's floor: a bare SwiftNIO WebSocket echo server and a pipelining client (no JSON, no
// files, no SQLite), sending text frames of the size of our tokenize requests. The figure the
// engine's per-record CPU is compared with (DESIGN.md, "The per-record budget").
//
//   Floor server                                   # prints "listening on ws://127.0.0.1:PORT"
//   Floor client URL [messages] [connections] [in-flight] [bytes]
//
// The client prints messages/s, its own CPU µs per message (user + system, getrusage) and its
// peak RSS. Run the server in its own process so that the client's CPU is the client's alone.
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import ShieldConex

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: Floor server | Floor client URL [messages] [connections] [in-flight] [bytes]")
    exit(64)
}
let group = MultiThreadedEventLoopGroup.singleton

/// Answers every text frame with the same bytes (unmasked, as a server sends).
final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame
    private var pending = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary:
            context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: frame.unmaskedData)), promise: nil)
            pending = true
        case .connectionClose:
            context.close(promise: nil)
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if pending {
            pending = false
            context.flush()
        }
    }
}

/// Keeps `inFlight` frames in flight until `total` have been answered; one flush per read burst.
final class PipeliningClient: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame
    private let payload: [UInt8]
    private let inFlight: Int
    private var toSend: Int
    private var toReceive: Int
    private var masks = MaskingKeyGenerator()
    private let done: EventLoopPromise<Void>

    init(payload: [UInt8], inFlight: Int, total: Int, done: EventLoopPromise<Void>) {
        self.payload = payload
        self.inFlight = inFlight
        toSend = total
        toReceive = total
        self.done = done
    }

    func handlerAdded(context: ChannelHandlerContext) {
        for _ in 0..<min(inFlight, toSend) { send(context: context) }
        context.flush()
    }

    private func send(context: ChannelHandlerContext) {
        toSend -= 1
        var buffer = context.channel.allocator.buffer(capacity: payload.count)
        buffer.writeBytes(payload)
        context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, maskKey: masks.nextMaskingKey(), data: buffer)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard frame.opcode == .text else { return }
        toReceive -= 1
        if toSend > 0 { send(context: context) }
        if toReceive == 0 { done.succeed(()) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }
}

func serve() throws {
    let upgrader = NIOWebSocketServerUpgrader(
        shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(HTTPHeaders()) },
        upgradePipelineHandler: { channel, _ in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(EchoHandler()) }
        }
    )
    let channel = try ServerBootstrap(group: group)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.configureHTTPServerPipeline(withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
            }
        }
        .bind(host: "127.0.0.1", port: 0).wait()
    FileHandle.standardOutput.write(Data("listening on ws://127.0.0.1:\(channel.localAddress!.port!)\n".utf8))
    try channel.closeFuture.wait()
}

func connect(port: Int, payload: [UInt8], inFlight: Int, total: Int) throws -> EventLoopFuture<Void> {
    let loop = group.next()
    let done = loop.makePromise(of: Void.self)
    let upgrader = NIOWebSocketClientUpgrader(
        upgradePipelineHandler: { channel, _ in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(PipeliningClient(payload: payload, inFlight: inFlight, total: total, done: done))
            }
        }
    )
    _ = try ClientBootstrap(group: loop)
        .channelOption(.socketOption(.tcp_nodelay), value: 1)
        .channelInitializer { channel in
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: "127.0.0.1:\(port)")
            let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/", headers: headers)
            return channel.eventLoop.makeCompletedFuture {
                let configuration = NIOHTTPClientUpgradeConfiguration(upgraders: [upgrader], completionHandler: { _ in })
                try channel.pipeline.syncOperations.addHTTPClientHandlers(withClientUpgrade: configuration)
                try channel.pipeline.syncOperations.addHandler(UpgradeTrigger(head: head))
            }
        }
        .connect(host: "127.0.0.1", port: port).wait()
    return done.futureResult
}

/// Sends the upgrade request once the channel is active.
final class UpgradeTrigger: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart
    let head: HTTPRequestHead
    init(head: HTTPRequestHead) { self.head = head }

    func channelActive(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

func peakMiB() -> Double {
    // VmHWM: this program's own peak (ru_maxrss keeps the parent's across exec on Linux).
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
    return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
}

switch arguments[1] {
case "server":
    try serve()
case "client":
    let url = arguments.count > 2 ? arguments[2] : "ws://127.0.0.1:8765"
    let total = arguments.count > 3 ? Int(arguments[3])! : 1_000_000
    let connections = arguments.count > 4 ? Int(arguments[4])! : 4
    let inFlight = arguments.count > 5 ? Int(arguments[5])! : 64
    let size = arguments.count > 6 ? Int(arguments[6])! : 280
    let port = Int(url.split(separator: ":").last!.split(separator: "/").first!)!
    let payload = Array(repeating: UInt8(ascii: "x"), count: size)
    let start = Date()
    let cpuStart = cpuSeconds()
    let share = total / connections
    let futures = try (0..<connections).map { index in
        try connect(port: port, payload: payload, inFlight: inFlight, total: index == 0 ? total - share * (connections - 1) : share)
    }
    for future in futures { try future.wait() }
    let seconds = Date().timeIntervalSince(start)
    let cpu = cpuSeconds() - cpuStart
    print(String(format: "floor: %d messages of %d bytes, %.2f s, %.0f messages/s, %.2f µs CPU/message, %.1f MiB peak RSS",
                 total, size, seconds, Double(total) / seconds, cpu / Double(total) * 1e6, peakMiB()))
default:
    print("usage: Floor server | Floor client URL [messages] [connections] [in-flight] [bytes]")
    exit(64)
}
