import ArgumentParser
import Foundation
import Logging
import Pipeline
import ShieldConex

extension BatchTokenize {
    /// Checks the credentials and a template before a job: `partner-validate`, then `template-validate`.
    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check that the credentials and the template are good, one line each.",
            discussion: """
                Connects, sends partner-validate (are the credentials accepted?) and template-validate \
                (does the template exist and is it provisioned for these credentials?), and prints one \
                line for each. Nothing is tokenized.

                Example:
                  SCX_API_KEY=... batch-tokenize validate --endpoint cert --template-ref 438ac8afecdd8035a21c126ee1fe6c19
                  batch-tokenize validate --endpoint local --template-ref 438ac8afecdd8035a21c126ee1fe6c19

                Exit status: 0 both good, 4 credentials or template refused, 5 service unreachable, 64 usage.
                """
        )

        @OptionGroup var connection: ConnectionOptions

        @Option(help: "The template to check (without it, only the credentials are checked).")
        var templateRef: String?

        func run() async throws {
            connection.log.bootstrap()
            let logger = Logger(label: "batch-tokenize.validate")
            let resolved = try await connection.resolve(logger: logger)
            let outcome = await Self.check(resolved: resolved, templateRef: templateRef, configuration: connection.connectionConfiguration, logger: logger)
            await resolved.shutdown()
            // No part of the key, whatever the service echoed of it.
            print(Console.mask(APIKey.redact(outcome.lines.joined(separator: "\n"), key: resolved.key)))
            if outcome.exitCode != .success { throw outcome.exitCode }
        }

        static func check(
            resolved: ResolvedEndpoint, templateRef: String?, configuration: ConnectionConfiguration, logger: Logger
        ) async -> (lines: [String], exitCode: ExitCode) {
            let place = "on \(resolved.endpoint)"
            // The template's line when the credentials failed first.
            let unchecked = templateRef.map { ["template \($0): not checked"] } ?? []
            let credentialsGood = "credentials: good (partner-validate succeeded \(place))"
            switch await Preflight.check(
                endpoint: resolved.endpoint, key: resolved.key, templateRef: templateRef, connection: configuration, retryFor: .seconds(60),
                reference: "validate", logger: logger
            ) {
            case .good:
                return ([credentialsGood] + (templateRef.map { ["template \($0): good (template-validate succeeded)"] } ?? []), ExitCodes.success)
            case .handshakeRefused(let error):
                return (["credentials: REFUSED \(place) (\(error)); check SCX_API_KEY, --key-file or --partner-id"] + unchecked, ExitCodes.refused)
            case .credentialsRefused(let failure):
                return (["credentials: REFUSED \(place) (partner-validate: \(failure?.description ?? "success: false"))"] + unchecked, ExitCodes.refused)
            case .templateRefused(let failure):
                return (
                    [credentialsGood, "template \(templateRef ?? ""): REFUSED (template-validate: \(failure?.description ?? "not found or not provisioned for these credentials"))"],
                    ExitCodes.refused
                )
            case .unreachable(let reason):
                return ([CommandLineHints.adding(to: "credentials: not checked: cannot connect \(place) (\(reason))")] + unchecked, ExitCodes.connection)
            case .lost(let reason):
                return (["the connection failed \(place) before the answers came: \(reason)"], ExitCodes.connection)
            }
        }
    }
}
