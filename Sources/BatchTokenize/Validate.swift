import ArgumentParser
import Foundation
import Logging
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
            print(Console.mask(outcome.lines.joined(separator: "\n")))
            if outcome.exitCode != .success { throw outcome.exitCode }
        }

        static func check(
            resolved: ResolvedEndpoint, templateRef: String?, configuration: ConnectionConfiguration, logger: Logger
        ) async -> (lines: [String], exitCode: ExitCode) {
            let place = "on \(resolved.endpoint)"
            // The template's line when the credentials failed first.
            let unchecked = templateRef.map { ["template \($0): not checked"] } ?? []
            let client: ShieldConexConnection
            do {
                client = try await ShieldConexConnection.connectRetryingRefusals(
                    to: resolved.endpoint, key: resolved.key, for: .seconds(60), configuration: configuration, logger: logger
                )
            } catch let error as ShieldConexError where error.isAuthenticationFailure {
                return (["credentials: REFUSED \(place) (\(error)); check SCX_API_KEY, --key-file or --partner-id"] + unchecked, ExitCodes.refused)
            } catch {
                return (["credentials: not checked: cannot connect \(place) (\(error))"] + unchecked, ExitCodes.connection)
            }
            let outcome = await validations(client: client, place: place, templateRef: templateRef, unchecked: unchecked)
            // Closed with a close handshake before the process ends (a strict server logs a bare TCP close as an error).
            await client.close()
            return outcome
        }

        static func validations(
            client: ShieldConexConnection, place: String, templateRef: String?, unchecked: [String]
        ) async -> (lines: [String], exitCode: ExitCode) {
            var lines: [String] = []
            do {
                let partner = try await client.send(.partnerValidate(reference: "validate"))
                guard partner.success else {
                    lines.append("credentials: REFUSED \(place) (partner-validate: \(partner.failure?.description ?? "success: false"))")
                    return (lines + unchecked, ExitCodes.refused)
                }
                lines.append("credentials: good (partner-validate succeeded \(place))")
                guard let templateRef else { return (lines, ExitCodes.success) }
                let template = try await client.send(.templateValidate(templateRef: templateRef, reference: "validate"))
                guard template.success else {
                    lines.append("template \(templateRef): REFUSED (template-validate: \(template.failure?.description ?? "not found or not provisioned for these credentials"))")
                    return (lines, ExitCodes.refused)
                }
                lines.append("template \(templateRef): good (template-validate succeeded)")
                return (lines, ExitCodes.success)
            } catch {
                lines.append("the connection failed \(place) before the answers came: \(error)")
                return (lines, ExitCodes.connection)
            }
        }
    }
}
