import Logging
import NIOSSL
import ShieldConex

/// partner-validate and template-validate on one connection: before the first record of a job,
/// and for `validate` and `verify`. Throttled answers (8001, 1429) and busy handshakes (429/503)
/// are asked again within the retry budget: a check should not fail on the service's busy second.
public enum Preflight {
    public enum Outcome: Sendable, Equatable {
        /// The credentials (and the template, when one was named) were accepted.
        case good
        /// The handshake was refused with 401/403.
        case handshakeRefused(ShieldConexError)
        /// partner-validate answered `success: false`.
        case credentialsRefused(Response.Failure?)
        /// The credentials were accepted; template-validate answered `success: false`.
        case templateRefused(Response.Failure?)
        /// No connection could be opened.
        case unreachable(String)
        /// The connection failed before the answers came.
        case lost(String)
    }

    public static func check(
        endpoint: Endpoint, key: APIKey, templateRef: String?, connection configuration: ConnectionConfiguration,
        tlsContext: NIOSSLContext? = nil, retryFor budget: Duration, reference: String?, logger: Logger
    ) async -> Outcome {
        let connection: ShieldConexConnection
        do {
            connection = try await ShieldConexConnection.connectRetryingRefusals(
                to: endpoint, key: key, for: budget, configuration: configuration, tlsContext: tlsContext, logger: logger
            )
        } catch let error as ShieldConexError where error.isAuthenticationFailure {
            return .handshakeRefused(error)
        } catch {
            return .unreachable("\(error)")
        }
        let outcome: Outcome
        do {
            let partner = try await connection.sendRetryingTransient(.partnerValidate(reference: reference), for: budget)
            if !partner.success {
                outcome = .credentialsRefused(partner.failure)
            } else if let templateRef {
                let template = try await connection.sendRetryingTransient(.templateValidate(templateRef: templateRef, reference: reference), for: budget)
                outcome = template.success ? .good : .templateRefused(template.failure)
            } else {
                outcome = .good
            }
        } catch {
            outcome = .lost("\(error)")
        }
        // Closed with a close handshake (a strict server logs a bare TCP close as an error).
        await connection.close()
        return outcome
    }

    /// The check before a job's first record; throws ``JobError`` (`fatalAnswer` for refused
    /// credentials or an unknown template, `connection` for a service that cannot be reached).
    /// A retokenize job's old template is checked first, then the new one.
    static func check(configuration: BatchJob.Configuration, connector: ShieldConexConnector, reference: String, logger: Logger) async throws {
        for templateRef in [configuration.fromTemplateRef, configuration.templateRef].compactMap({ $0 }) {
            try await check(configuration: configuration, templateRef: templateRef, connector: connector, reference: reference, logger: logger)
        }
    }

    private static func check(
        configuration: BatchJob.Configuration, templateRef: String, connector: ShieldConexConnector, reference: String, logger: Logger
    ) async throws {
        let endpoint = configuration.endpoint
        switch await check(
            endpoint: endpoint, key: configuration.key, templateRef: templateRef, connection: configuration.connection,
            tlsContext: connector.tlsContext, retryFor: configuration.retry.budget, reference: reference, logger: logger
        ) {
        case .good:
            return
        case .handshakeRefused(let error):
            throw JobError(.fatalAnswer, "\(error)")
        case .credentialsRefused(let failure):
            throw JobError(.fatalAnswer, "partner-validate failed: \(failure?.description ?? "the credentials were not accepted")")
        case .templateRefused(let failure):
            throw JobError(
                .fatalAnswer,
                "template-validate failed for templateRef \(templateRef): \(failure?.description ?? "not found or not provisioned for this partner")"
            )
        case .unreachable(let reason):
            throw JobError(.connection, "cannot connect to \(endpoint): \(reason)")
        case .lost(let reason):
            throw JobError(.connection, "the connection to \(endpoint) failed while validating: \(reason)")
        }
    }
}
