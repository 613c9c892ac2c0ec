import ArgumentParser
import Logging

@main
struct BatchTokenize: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch-tokenize",
        abstract: "Tokenize and detokenize card data in bulk through the ShieldConex WebSocket API.",
        discussion: """
            The API key is read from SCX_API_KEY (the base64 key that follows 'Basic ') or from \
            --key-file FILE; it is never taken from a command-line value. --endpoint local runs an \
            embedded ShieldConex simulator, so every command works without an account.
            """,
        subcommands: [Run.self, Detokenize.self, Read.self, Verify.self, Status.self, Call.self, Simulate.self, CheckpointWriter.self]
    )
}

/// Process exit codes shared by the subcommands.
enum ExitCodes {
    /// The server answered, with `success: false`.
    static let answeredFailure = ExitCode(3)
    /// The server refused the API key (HTTP 401/403 or 8003/8004).
    static let authentication = ExitCode(4)
    /// The connection could not be made or was lost.
    static let connection = ExitCode(5)
    /// The service refused the job itself (8003, 8004, 1202, failed validation).
    static let jobRefused = ExitCode(6)
    /// A signal stopped the job; what was finished is committed and running it again resumes (EX_TEMPFAIL).
    static let interrupted = ExitCode(75)
}

/// Logging for the executable: one stderr handler at the chosen level, bootstrapped once.
enum LoggingSetup {
    static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
