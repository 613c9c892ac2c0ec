import ArgumentParser
import Dispatch
import Foundation
import Logging
import ShieldConex
import Simulator

extension BatchTokenize {
    /// Runs the ShieldConex simulator until SIGINT or SIGTERM, then prints its counters.
    struct Simulate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve a local ShieldConex simulator over WebSocket.",
            discussion: """
                The first line on stdout is 'listening on ws://HOST:PORT' (wss:// with --tls-cert). \
                Accepted keys come from --key (repeatable) or SCX_API_KEY; these are test keys of the \
                simulator, not credentials. Stop with SIGINT or SIGTERM; the counters are printed then.

                Example:
                  batch-tokenize simulate --port 8765 --key dGVzdDprZXk= --latency-ms 2 --error-rate 0.01
                  SCX_API_KEY=dGVzdDprZXk= batch-tokenize run --endpoint ws://127.0.0.1:8765 --config samples/job-cards-csv.json
                """
        )

        @Option(help: "Address to listen on.")
        var host = "127.0.0.1"

        @Option(help: "Port to listen on; 0 picks a free port.")
        var port = 0

        @Option(help: "Templates file (JSON). Default: samples/templates.json, else the built-in copy.")
        var templates: String?

        @Option(name: .customLong("key"), help: "An accepted API key (repeatable). Default: SCX_API_KEY.")
        var keys: [String] = []

        @Option(help: "PEM certificate chain: serve wss://.")
        var tlsCert: String?

        @Option(help: "PEM private key for --tls-cert.")
        var tlsKey: String?

        @Option(help: "Mean added latency per answer in milliseconds (exponential, so answers reorder).")
        var latencyMs: Double?

        @Option(help: "At most N requests processed at once over all connections, each for --processing-ms; the rest wait in one queue (first come, first served), so latency rises with load. --latency-ms is added on top as the network's part. Default: no limit.")
        var capacity: Int?

        @Option(help: "With --capacity: milliseconds one request occupies a worker.")
        var processingMs: Double = 10

        @Option(help: "Probability (0-1) of answering a request with 8001 Server error.")
        var errorRate: Double = 0

        @Option(help: "Reset a connection (TCP RST) when its request N+1 arrives.")
        var dropAfter: Int?

        @Option(help: "Reset the connection (TCP RST) that carries request number N, counted over all connections from 1 (repeatable, or N,N,...).")
        var resetAt: [String] = []

        @Option(help: "The connection that carries request number N stops answering and reading and stays open: a half-open connection (repeatable, or N,N,...).")
        var stallAt: [String] = []

        @Option(help: "Requests per second allowed per key; excess is answered with --throttle-code.")
        var rateLimit: Double?

        @Option(help: "The error code of throttled answers: 1429 (default) or 8001 (the only server-side code the ORCA document lists).")
        var throttleCode: Int = 1429

        @Flag(help: "Answer 1004 'Duplicate field: NAME' to a request that names a field twice in its values, as a strict service may.")
        var refuseRepeatedFields = false

        @Option(help: "Close connections that send nothing for this many seconds.")
        var idleTimeout: Double?

        @Option(help: "Refuse WebSocket connections beyond this many at once (HTTP 503).")
        var maxConnections: Int?

        @Option(help: "Seed for reproducible fault injection.")
        var seed: UInt64?

        @Flag(help: "Derive tokenize bfids from the request's reference and values, so that re-sent requests get the same bfid (for byte-for-byte comparisons of runs; the real service issues a new bfid per request).")
        var deterministicIds = false

        @Flag(help: "Quote the value in invalid-value answers, as some services do (for testing that clients mask them).")
        var echoValuesInErrors = false

        @Option(help: "Log level.")
        var logLevel: Logger.Level = .warning

        func validate() throws {
            guard (0...65535).contains(port) else { throw ValidationError("--port must be 0-65535") }
            guard (0...1).contains(errorRate) else { throw ValidationError("--error-rate must be between 0 and 1") }
            if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
            guard errorRate.isFinite else { throw ValidationError("--error-rate must be between 0 and 1") }
            if let latencyMs { try OptionRange.check(latencyMs, "--latency-ms", 0...600_000) }
            if let dropAfter, dropAfter < 0 { throw ValidationError("--drop-after must not be negative") }
            if let rateLimit { try OptionRange.check(rateLimit, "--rate-limit", 0.001...10_000_000, unit: " requests/s") }
            guard [1429, 8001].contains(throttleCode) else { throw ValidationError("--throttle-code must be 1429 or 8001") }
            if let idleTimeout { try OptionRange.check(idleTimeout, "--idle-timeout", 0.001...86_400, unit: " s") }
            if let maxConnections, maxConnections <= 0 { throw ValidationError("--max-connections must be positive") }
            if let capacity { try OptionRange.check(capacity, "--capacity", 1...1_000_000) }
            try OptionRange.check(processingMs, "--processing-ms", 0...600_000)
        }

        func run() async throws {
            LoggingSetup.bootstrap(level: logLevel)
            let logger = Logger(label: "batch-tokenize.simulate")
            var configuration = SimulatorConfiguration()
            configuration.host = host
            configuration.port = port
            do {
                configuration.templates = try templates.map(TemplateSet.load(path:)) ?? LocalSimulator.defaultTemplates()
            } catch {
                throw ValidationError("\(error)")
            }
            var accepted = keys
            if accepted.isEmpty, let key = ProcessInfo.processInfo.environment["SCX_API_KEY"], !key.isEmpty {
                accepted = [key]
            }
            guard !accepted.isEmpty else {
                throw ValidationError("no accepted key: pass --key KEY or set SCX_API_KEY")
            }
            configuration.keys = accepted
            if let tlsCert, let tlsKey { configuration.tls = (tlsCert, tlsKey) }
            configuration.latency = latencyMs.map { .microseconds(Int64($0 * 1000)) }
            configuration.errorRate = errorRate
            configuration.capacity = capacity
            configuration.processing = .microseconds(Int64(processingMs * 1000))
            configuration.dropAfter = dropAfter
            configuration.resetAt = try Self.requestNumbers(resetAt, option: "--reset-at")
            configuration.stallAt = try Self.requestNumbers(stallAt, option: "--stall-at")
            configuration.rateLimit = rateLimit
            configuration.throttleCode = ErrorCode(throttleCode)
            configuration.refuseRepeatedFields = refuseRepeatedFields
            configuration.idleTimeout = idleTimeout.map { .milliseconds(Int64($0 * 1000)) }
            configuration.maxConnections = maxConnections
            configuration.seed = seed
            configuration.deterministicIds = deterministicIds
            configuration.echoValuesInErrors = echoValuesInErrors

            let server = try await SimulatorServer.start(configuration: configuration, logger: logger)
            print("listening on \(server.url)")
            fflush(nil)
            let signal = await SignalWaiter.wait(for: [SIGINT, SIGTERM])
            logger.info("stopping", metadata: ["signal": "\(signal)"])
            await server.stop()
            print(server.statistics)
            fflush(nil)
        }
    }
}

/// Waits for the first of some signals (their default action is suppressed while waiting).
enum SignalWaiter {
    static func wait(for signals: [Int32]) async -> Int32 {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            let queue = DispatchQueue(label: "signals")
            let once = OnceFlag()
            var sources: [any DispatchSourceSignal] = []
            for number in signals {
                Foundation.signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler {
                    if once.take() { continuation.resume(returning: number) }
                }
                source.resume()
                sources.append(source)
            }
            // The sources must live as long as the process waits; keep them in a global.
            KeepAlive.sources.append(contentsOf: sources)
        }
    }

    final class OnceFlag: @unchecked Sendable {
        private var taken = false
        private let lock = NSLock()
        func take() -> Bool {
            lock.lock()
            defer { lock.unlock() }
            if taken { return false }
            taken = true
            return true
        }
    }

    enum KeepAlive {
        nonisolated(unsafe) static var sources: [any DispatchSourceSignal] = []
    }
}

extension BatchTokenize.Simulate {
    /// Request numbers given as repeated options or comma-separated lists.
    static func requestNumbers(_ texts: [String], option: String) throws -> Set<Int> {
        var numbers: Set<Int> = []
        for text in texts {
            for part in text.split(separator: ",") {
                guard let number = Int(part.trimmingCharacters(in: .whitespaces)), number >= 1 else {
                    throw ValidationError("\(option) takes request numbers from 1, not '\(part)'")
                }
                numbers.insert(number)
            }
        }
        return numbers
    }
}
