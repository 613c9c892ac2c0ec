import ArgumentParser
import ShieldConex

/// How long to wait for answers, and how often to show an idle connection is alive.
struct TimingOptions: ParsableArguments {
    @Option(help: "Seconds to wait for each answer before the request is retried (or, for a read, given up as outcome-unknown).")
    var timeout: Double = 30

    @Option(help: "Seconds a connection may stay idle before a heartbeat is sent (keeps connections alive while the rate limit holds them back).")
    var heartbeatInterval: Double = 5

    func validate() throws {
        try OptionRange.check(timeout, "--timeout", 0.001...86_400, unit: " s")
        try OptionRange.check(heartbeatInterval, "--heartbeat-interval", 0.001...3_600, unit: " s")
    }

    func connectionConfiguration(credentials: CredentialOptions) -> ConnectionConfiguration {
        var configuration = ConnectionConfiguration()
        configuration.requestTimeout = .milliseconds(Int64(timeout * 1000))
        configuration.heartbeatInterval = .milliseconds(Int64(heartbeatInterval * 1000))
        configuration.extraCAFile = credentials.caFile
        configuration.allowInsecureTransport = credentials.allowInsecureTransport
        return configuration
    }
}
