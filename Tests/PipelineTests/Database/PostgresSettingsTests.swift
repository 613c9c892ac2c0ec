import Foundation
@testable import Pipeline
import Testing
import TestSupport

/// Connection settings by libpq's conventions: the URL over the `PG*` variables over the
/// defaults; the password from `PGPASSWORD` or a 0600 password file, never from the URL; TLS
/// verified by default off loopback.
@Suite struct PostgresSettingsTests {
    @Test func theURLOverridesTheEnvironmentWhichOverridesTheDefaults() throws {
        let environment = ["PGHOST": "db.internal", "PGPORT": "6543", "PGUSER": "env-user", "PGDATABASE": "envdb", "USER": "me", "HOME": "/nonexistent"]
        let fromEnvironment = try PostgresSettings.resolve(url: "postgres://", environment: environment)
        #expect(fromEnvironment.host == "db.internal" && fromEnvironment.port == 6543)
        #expect(fromEnvironment.user == "env-user" && fromEnvironment.database == "envdb")
        let fromURL = try PostgresSettings.resolve(url: "postgresql://alice@10.0.0.5:5433/cards?application_name=nightly", environment: environment)
        #expect(fromURL.host == "10.0.0.5" && fromURL.port == 5433 && fromURL.user == "alice" && fromURL.database == "cards")
        #expect(fromURL.applicationName == "nightly")
        let defaults = try PostgresSettings.resolve(url: "postgres:///", environment: ["USER": "me", "HOME": "/nonexistent"])
        #expect(defaults.isUnixSocket && defaults.socketPath == "/var/run/postgresql/.s.PGSQL.5432")
        #expect(defaults.user == "me" && defaults.database == "me")
        let socket = try PostgresSettings.resolve(url: "postgres://bob@/db?host=%2Ftmp%2Fpg", environment: ["HOME": "/nonexistent"])
        #expect(socket.socketPath == "/tmp/pg/.s.PGSQL.5432" && socket.user == "bob")
        let ipv6 = try PostgresSettings.resolve(url: "postgres://u@[::1]:7000/d", environment: ["HOME": "/nonexistent"])
        #expect(ipv6.host == "::1" && ipv6.port == 7000 && ipv6.isLoopback)
    }

    @Test func aPasswordInTheURLIsRefused() {
        let error = #expect(throws: PostgresSettings.Failure.self) {
            _ = try PostgresSettings.resolve(url: "postgres://alice:secret@db/cards", environment: [:])
        }
        #expect(error?.description.contains("PGPASSWORD") == true)
        #expect(error?.description.contains("secret") == false, "the message never repeats the password")
    }

    @Test func tlsIsVerifiedByDefaultOffLoopback() throws {
        let none = ["HOME": "/nonexistent"]
        #expect(try PostgresSettings.resolve(url: "postgres://u@db.example.com/d", environment: none).sslMode == .verifyFull)
        #expect(try PostgresSettings.resolve(url: "postgres://u@127.0.0.1/d", environment: none).sslMode == .prefer)
        #expect(try PostgresSettings.resolve(url: "postgres://u@localhost/d", environment: none).sslMode == .prefer)
        #expect(try PostgresSettings.resolve(url: "postgres://u@db.example.com/d?sslmode=require", environment: none).sslMode == .require)
        #expect(try PostgresSettings.resolve(url: "postgres://u@db.example.com/d", environment: ["PGSSLMODE": "verify-ca"]).sslMode == .verifyCA)
        #expect(throws: PostgresSettings.Failure.self) { _ = try PostgresSettings.resolve(url: "postgres://u@db/d?sslmode=verify_full", environment: none) }
        #expect(throws: PostgresSettings.Failure.self) { _ = try PostgresSettings.resolve(url: "postgres://u@db/d?sslmod=disable", environment: none) }
        #expect(throws: PostgresSettings.Failure.self) { _ = try PostgresSettings.resolve(url: "postgres://u@db/d?sslmode=disable&sslmode=require", environment: none) }
        #expect(throws: PostgresSettings.Failure.self) { _ = try PostgresSettings.resolve(url: "postgres://u@db:99999/d", environment: none) }
        #expect(throws: PostgresSettings.Failure.self) { _ = try PostgresSettings.resolve(url: "mysql://u@db/d", environment: none) }
    }

    @Test func thePasswordComesFromPGPASSWORDOrAPrivatePasswordFile() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let file = try folder.write(
            """
            # comment
            other.host:5432:*:alice:wrong
            db.internal:5432:cards:alice:pass\\:with\\\\colon
            *:*:*:*:fallback

            """, to: "pgpass")
        chmod(file, 0o600)
        let base = ["PGPASSFILE": file, "HOME": "/nonexistent"]
        #expect(try PostgresSettings.resolve(url: "postgres://alice@db.internal/cards", environment: base).password == "pass:with\\colon")
        #expect(try PostgresSettings.resolve(url: "postgres://bob@db.internal/cards", environment: base).password == "fallback")
        var withVariable = base
        withVariable["PGPASSWORD"] = "from-variable"
        #expect(try PostgresSettings.resolve(url: "postgres://alice@db.internal/cards", environment: withVariable).password == "from-variable")
        // A file others can read is not used (as libpq: a warning, no password).
        chmod(file, 0o644)
        #expect(try PostgresSettings.resolve(url: "postgres://alice@db.internal/cards", environment: base).password == nil)
        // ~/.pgpass when PGPASSFILE is not set.
        chmod(file, 0o600)
        try FileManager.default.moveItem(atPath: file, toPath: folder.path(".pgpass"))
        #expect(try PostgresSettings.resolve(url: "postgres://alice@db.internal/cards", environment: ["HOME": folder.path]).password == "pass:with\\colon")
    }

    @Test func theDescriptionNeverHoldsThePassword() throws {
        let settings = try PostgresSettings.resolve(url: "postgres://alice@db.internal:5432/cards", environment: ["PGPASSWORD": "hunter2", "HOME": "/x"])
        #expect(settings.described == "alice@db.internal:5432/cards (sslmode verify-full)")
    }
}
