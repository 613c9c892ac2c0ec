import ArgumentParser
import Foundation
import Logging
import ShieldConex

extension BatchTokenize {
    /// Sends one request and prints the answer: the Swift counterpart of the spec's sample program.
    struct Call: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send one request and print the response JSON.",
            discussion: """
                ACTION is one of: \(Action.allCases.map(\.rawValue).joined(separator: ", ")). \
                --payload is the payload object as JSON, e.g. \
                '{"templateRef":"...","values":[{"name":"card_number","value":"..."}]}'. \
                Example:
                  batch-tokenize call heartbeat --endpoint local
                  SCX_API_KEY=... batch-tokenize call template-validate --endpoint cert \
                    --payload '{"templateRef":"438ac8afecdd8035a21c126ee1fe6c19"}'

                Exit status: 0 success, 3 the server answered success:false, 4 authentication refused, \
                5 connection failure, 64 usage.
                """
        )

        @Argument(help: "The action to perform.")
        var action: String

        @Option(help: "The payload object as JSON, or @FILE to read it from a file (not needed for heartbeat and partner-validate).")
        var payload: String?

        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            guard Action(rawValue: action) != nil else {
                throw ValidationError("unknown action '\(action)'; expected one of \(Action.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        /// The payload text: the option's value, or the contents of the file after `@`.
        func payloadText() throws -> String? {
            guard let payload, payload.hasPrefix("@") else { return payload }
            let path = String(payload.dropFirst())
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("--payload: cannot read \(path)")
            }
            return String(decoding: data, as: UTF8.self)
        }

        func run() async throws {
            connection.log.bootstrap()
            let logger = Logger(label: "batch-tokenize.call")
            let action = Action(rawValue: action)!
            let request: Request
            do {
                request = try payloadText().map { try Request.decodePayload(action: action, json: $0) } ?? Request(action: action)
                try request.validate()
            } catch {
                throw ValidationError("--payload: \(error)")
            }
            let resolved = try await connection.resolve(logger: logger)
            defer { Task { await resolved.shutdown() } }
            var configuration = connection.connectionConfiguration
            configuration.keepRawResponses = true
            let response: Response
            do {
                let client = try await ShieldConexConnection.connectRetryingRefusals(
                    to: resolved.endpoint, key: resolved.key, for: .seconds(60), configuration: configuration, logger: logger
                )
                response = try await client.send(request)
                await client.close()
            } catch let error as ShieldConexError {
                await resolved.shutdown()
                Console.write(CommandLineHints.adding(to: "error: \(error)"))
                throw error.isAuthenticationFailure ? ExitCodes.refused : ExitCodes.connection
            }
            await resolved.shutdown()
            print(response.raw ?? "")
            if !response.success { throw ExitCodes.answeredFailure }
        }
    }
}
