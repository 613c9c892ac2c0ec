import ArgumentParser
import Foundation
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
        version: version,
        subcommands: [
            Run.self, Detokenize.self, Read.self, Retokenize.self, Verify.self, Validate.self, Status.self, Plan.self, Merge.self, Call.self, Simulate.self, CrashForTests.self,
        ]
    )

    static let version = "batch-tokenize 0.6.0"

    /// Like ArgumentParser's `main`, except that every message is masked on its way out.
    static func main() async {
        CrashHygiene.apply()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { print(message) }
            } else if !message.isEmpty {
                Console.clearProgress()
                Console.write(message)
            }
            Foundation.exit(code.rawValue)
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
