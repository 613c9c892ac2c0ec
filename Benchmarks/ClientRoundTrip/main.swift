// Pipelined tokenize round trips against a simulator in another process.
//
//   batch-tokenize simulate --port 8765 --key KEY &
//   SCX_API_KEY=KEY swift run -c release ClientRoundTrip ws://127.0.0.1:8765 [requests] [connections] [in-flight]
//
// Prints requests/s, this process's CPU µs per request (user + system, from getrusage) and its peak RSS.
import Foundation
import NIOCore
import NIOPosix
import ShieldConex

let arguments = CommandLine.arguments
let url = arguments.count > 1 ? arguments[1] : "ws://127.0.0.1:8765"
let total = arguments.count > 2 ? Int(arguments[2])! : 200_000
let connections = arguments.count > 3 ? Int(arguments[3])! : 4
let inFlight = arguments.count > 4 ? Int(arguments[4])! : 64
let key = APIKey(ProcessInfo.processInfo.environment["SCX_API_KEY"] ?? "")
let template = "438ac8afecdd8035a21c126ee1fe6c19"

func pan(_ index: Int) -> String {
    let body = String(index % 1_000_000_000)
    return Luhn.appendingCheckDigit(to: "400000" + String(repeating: "0", count: 9 - body.count) + body)
}

func request(_ index: Int) -> Request {
    .tokenize(
        templateRef: template,
        values: [
            FieldValue(name: "card_number", value: pan(index)),
            FieldValue(name: "card_exp", value: "1229"),
            FieldValue(name: "card_cvv", value: "123"),
        ],
        reference: "bench:\(index)"
    )
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
        + Double(usage.ru_stime.tv_usec) / 1e6
}

func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// One connection's driver: keeps `inFlight` requests outstanding, all on the connection's event loop.
final class Driver: @unchecked Sendable {
    let connection: ShieldConexConnection
    let quota: Int
    let offset: Int
    var sent = 0
    var answered = 0
    var failed = 0
    let done: EventLoopPromise<Void>

    init(connection: ShieldConexConnection, quota: Int, offset: Int) {
        self.connection = connection
        self.quota = quota
        self.offset = offset
        self.done = connection.channel.eventLoop.makePromise()
    }

    func start() {
        connection.channel.eventLoop.execute {
            for _ in 0..<min(inFlight, self.quota) { self.sendNext() }
        }
    }

    private func sendNext() {
        let index = offset + sent
        sent += 1
        connection.send(request(index)).whenComplete { result in
            self.answered += 1
            if case .failure = result { self.failed += 1 } else if case .success(let response) = result, !response.success { self.failed += 1 }
            if self.sent < self.quota { self.sendNext() }
            if self.answered == self.quota { self.done.succeed(()) }
        }
    }
}

let endpoint = try Endpoint(url)
var drivers: [Driver] = []
for index in 0..<connections {
    let connection = try await ShieldConexConnection.connect(to: endpoint, key: key)
    drivers.append(Driver(connection: connection, quota: total / connections, offset: index * (total / connections)))
}
// Warm up.
_ = try await drivers[0].connection.send(request(0)).get()

let cpuStart = cpuSeconds()
let start = ContinuousClock.now
for driver in drivers { driver.start() }
for driver in drivers { try await driver.done.futureResult.get() }
let elapsed = ContinuousClock.now - start
let cpu = cpuSeconds() - cpuStart
let done = drivers.reduce(0) { $0 + $1.answered }
let failed = drivers.reduce(0) { $0 + $1.failed }
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
print(
    String(
        format: "requests=%d failed=%d connections=%d in_flight=%d seconds=%.3f requests_per_s=%.0f client_cpu_us_per_request=%.2f peak_rss_mib=%.1f",
        done, failed, connections, inFlight, seconds, Double(done) / seconds, cpu / Double(done) * 1e6, peakRSSMiB()
    )
)
for driver in drivers { await driver.connection.close() }
