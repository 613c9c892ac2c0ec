import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// Opens connections to the server ``PostgresSettings`` name, with TLS as their `sslmode` says:
/// `disable` none; `allow` and `prefer` TLS if the server offers it, unverified (libpq's
/// meaning); `require` TLS, unverified; `verify-ca` TLS whose certificate chains to the CA file
/// (`sslrootcert`, else `~/.postgresql/root.crt`, else the system's roots); `verify-full` that,
/// and the certificate names the host.
public enum PostgresConnector {
    /// The database's connections run on a thread of their own: their rows are decoded there,
    /// never on the engine's loop (the shared group's), whose every microsecond is a request's.
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    public static func configuration(_ settings: PostgresSettings) throws -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        if settings.isUnixSocket {
            configuration = .init(unixSocketPath: settings.socketPath, username: settings.user, password: settings.password, database: settings.database)
        } else {
            configuration = .init(
                host: settings.host, port: settings.port, username: settings.user, password: settings.password, database: settings.database,
                tls: try tls(settings)
            )
        }
        if let timeout = settings.connectTimeout { configuration.options.connectTimeout = .seconds(Int64(timeout)) }
        configuration.options.additionalStartupParameters = [("application_name", settings.applicationName)]
        return configuration
    }

    static func tls(_ settings: PostgresSettings) throws -> PostgresConnection.Configuration.TLS {
        var client = TLSConfiguration.makeClientConfiguration()
        client.minimumTLSVersion = .tlsv12
        switch settings.sslMode {
        case .disable:
            return .disable
        case .allow, .prefer, .require:
            client.certificateVerification = .none
        case .verifyCA, .verifyFull:
            client.certificateVerification = settings.sslMode == .verifyFull ? .fullVerification : .noHostnameVerification
            client.trustRoots = try trustRoots(settings)
        }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: client)
        } catch {
            throw PostgresSettings.Failure("cannot set up TLS for the database (\(error))")
        }
        return settings.sslMode == .allow || settings.sslMode == .prefer ? .prefer(context) : .require(context)
    }

    static func trustRoots(_ settings: PostgresSettings) throws -> NIOSSLTrustRoots {
        if settings.rootCertificate == "system" { return .default }
        let path = settings.rootCertificate ?? (NSHomeDirectory() + "/.postgresql/root.crt")
        guard FileManager.default.fileExists(atPath: path) else {
            if settings.rootCertificate == nil { return .default }
            throw PostgresSettings.Failure("the CA file \(path) (sslrootcert) is not there")
        }
        do {
            return .certificates(try NIOSSLCertificate.fromPEMFile(path))
        } catch {
            throw PostgresSettings.Failure("the CA file \(path) (sslrootcert) holds no PEM certificate (\(error))")
        }
    }

    /// A connection, or an error that says where it tried (never with the password) and whether
    /// the server refused the role or could not be reached. Blocking: call it where waiting is
    /// allowed (a reader's or the writer's thread, the job's start), never on an event loop.
    static func connect(_ settings: PostgresSettings, logger: Logger) throws -> PostgresConnection {
        let loop = group.next()
        let configuration = try configuration(settings)
        do {
            return try PostgresConnection.connect(on: loop, configuration: configuration, id: 1, logger: logger).wait()
        } catch let error as PSQLError {
            let refused = error.serverInfo?[.sqlState].map { $0.hasPrefix("28") || $0 == "3D000" } ?? false
            throw PostgresSettings.Failure(
                "cannot connect to the database \(settings.described): \(PostgresErrors.describe(error))", kind: refused ? .refused : .unreachable
            )
        } catch {
            throw PostgresSettings.Failure("cannot connect to the database \(settings.described): \(error)", kind: .unreachable)
        }
    }

    /// Closes `connection`, waiting for it where waiting is allowed (not on an event loop):
    /// postgres-nio wants every connection closed before it goes.
    static func close(_ connection: PostgresConnection) {
        let closing: EventLoopFuture<Void> = connection.close()
        if MultiThreadedEventLoopGroup.currentEventLoop == nil {
            _ = try? closing.wait()
        } else {
            // On an event loop (a reader or an output let go of there), perhaps not the
            // connection's: it is kept until it is closed (postgres-nio asserts that a connection
            // is closed before it goes, and a close is carried out on the connection's own loop).
            closing.whenComplete { _ in withExtendedLifetime(connection) {} }
        }
    }
}
