import ArgumentParser
import Logging

/// How much the tool says on stderr, and in which form.
struct LogOptions: ParsableArguments {
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .warning

    @Option(help: "Log lines as text or json (one object per line, for log aggregators).")
    var logFormat: LogFormat = .text

    @Flag(help: "Print only the summary and errors: no progress, no warnings.")
    var quiet = false

    func bootstrap() {
        LoggingSetup.bootstrap(level: quiet ? max(logLevel, .error) : logLevel, format: logFormat)
    }
}
