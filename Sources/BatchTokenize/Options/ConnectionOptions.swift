import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import ShieldConex
import Simulator

/// Options every command that talks to ShieldConex shares: where, with which key, and how.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "staging, cert, production, local (embedded simulator), or a ws:// or wss:// URL.")
    var endpoint: String

    @OptionGroup var credentials: CredentialOptions

    @OptionGroup var timing: TimingOptions

    @OptionGroup var log: LogOptions

    func validate() throws {
        if endpoint.lowercased() != "local" {
            do {
                _ = try Endpoint(endpoint)
            } catch {
                throw ValidationError(CommandLineHints.adding(to: "--endpoint: \(error)"))
            }
        }
    }

    var connectionConfiguration: ConnectionConfiguration {
        timing.connectionConfiguration(credentials: credentials)
    }

    /// The endpoint and key to use; for `local`, starts the embedded simulator first.
    func resolve(logger: Logger) async throws -> ResolvedEndpoint {
        try await ResolvedEndpoint.resolve(endpoint: endpoint, credentials: credentials, logger: logger)
    }
}

struct ResolvedEndpoint {
    var endpoint: Endpoint
    var key: APIKey
    var simulator: SimulatorServer?

    /// `local` starts the embedded simulator with a generated key; anything else is parsed, and
    /// the key is read from `--key-file` or `SCX_API_KEY`.
    static func resolve(endpoint name: String, credentials: CredentialOptions, logger: Logger) async throws -> ResolvedEndpoint {
        if name.lowercased() == "local" {
            let key = LocalSimulator.generateKey()
            var configuration = SimulatorConfiguration()
            configuration.keys = [key]
            configuration.templates = try LocalSimulator.defaultTemplates()
            let server = try await SimulatorServer.start(configuration: configuration, logger: logger)
            return ResolvedEndpoint(endpoint: try Endpoint(server.url), key: APIKey(key), simulator: server)
        }
        let endpoint: Endpoint
        do {
            endpoint = try Endpoint(name)
            // Before the key is read: a key must never be sent in clear text by mistake.
            try endpoint.checkTransport(allowInsecure: credentials.allowInsecureTransport)
        } catch {
            throw ValidationError(CommandLineHints.adding(to: "--endpoint: \(error)"))
        }
        return ResolvedEndpoint(endpoint: endpoint, key: try credentials.load(), simulator: nil)
    }

    func shutdown() async {
        await simulator?.stop()
    }
}

enum LocalSimulator {
    /// A random key for the embedded simulator, base64 like a real one.
    static func generateKey() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<24).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
    }

    /// `samples/templates.json` when run from the project folder, else the built-in copy of it.
    static func defaultTemplates(path: String = "samples/templates.json") throws -> TemplateSet {
        if FileManager.default.fileExists(atPath: path) {
            return try TemplateSet.load(path: path)
        }
        return .builtIn
    }
}
