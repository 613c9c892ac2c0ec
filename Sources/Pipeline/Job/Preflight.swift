import Logging
import NIOSSL
import ShieldConex

/// partner-validate and template-validate, before the first record of a job (and for
/// `validate` and `verify`): one connection, both questions, throttled answers asked again.
public enum Preflight {
    /// Throws ``JobError`` (`fatalAnswer` for refused credentials or an unknown template,
    /// `connection` for a service that cannot be reached).
    static func check(
        configuration: BatchJob.Configuration, tlsContext: NIOSSLContextBox, reference: String, logger: Logger
    ) async throws {
        try await check(
            endpoint: configuration.endpoint, key: configuration.key, templateRef: configuration.templateRef, connection: configuration.connection,
            tlsContext: try tlsContext.context(for: configuration), retryFor: configuration.retry.budget, reference: reference, logger: logger
        )
    }

    public static func check(
        endpoint: Endpoint, key: APIKey, templateRef: String?, connection configuration: ConnectionConfiguration,
        tlsContext: NIOSSLContext?, retryFor budget: Duration, reference: String?, logger: Logger
    ) async throws {
        let connection: ShieldConexConnection
        do {
            connection = try await ShieldConexConnection.connectRetryingRefusals(
                to: endpoint, key: key, for: budget, configuration: configuration, tlsContext: tlsContext, logger: logger
            )
        } catch let error as ShieldConexError where error.isAuthenticationFailure {
            throw JobError(.fatalAnswer, "\(error)")
        } catch {
            throw JobError(.connection, "cannot connect to \(endpoint): \(error)")
        }
        let partner: Response
        var template: Response?
        do {
            // A throttled validation is asked again: the job should not fail on the service's busy second.
            partner = try await connection.sendRetryingTransient(.partnerValidate(reference: reference), for: budget)
            if let templateRef {
                template = try await connection.sendRetryingTransient(.templateValidate(templateRef: templateRef, reference: reference), for: budget)
            }
            await connection.close()
        } catch {
            await connection.close()
            throw JobError(.connection, "the connection to \(endpoint) failed while validating: \(error)")
        }
        guard partner.success else {
            throw JobError(.fatalAnswer, "partner-validate failed: \(partner.failure?.description ?? "the credentials were not accepted")")
        }
        if let templateRef, let template, !template.success {
            throw JobError(
                .fatalAnswer,
                "template-validate failed for templateRef \(templateRef): \(template.failure?.description ?? "not found or not provisioned for this partner")"
            )
        }
    }
}
