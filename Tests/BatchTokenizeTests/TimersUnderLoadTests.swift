import Foundation
import TestSupport
import Testing

/// The engine's loop is never held by the disk or by a burst of answers for long: heartbeats go
/// on time on every connection while the job runs at full speed, and none of them is missed
/// (a missed one would close its connection: no reconnect happens).
struct TimersUnderLoadTests {
    @Test func heartbeatsGoOnTimeOnEveryConnectionUnderFullLoad() throws {
        let folder = try TestFolder(prefix: "timers")
        defer { folder.remove() }
        try folder.write(TestCards.csv(rows: 30_000), to: "cards.csv")
        let simulator = try SimulatorProcess()
        let interval = 0.2
        let run = try BinaryLauncher.run(
            [
                "run", "--endpoint", simulator.url, "--template-ref", TestRuns.template, "--input", folder.path("cards.csv"),
                "--output", folder.path("out.csv"), "--map", "card_number=card_number", "--map", "card_exp=card_exp",
                "--heartbeat-interval", "\(interval)", "--connections", "4", "--progress-interval", "3600",
            ],
            environment: ["SCX_API_KEY": TestKeys.simulator]
        )
        let counters = simulator.stop()
        #expect(run.status == 0, "\(run.stderr.suffix(2_000))")
        #expect(run.stderr.contains("reconnects 0"), "no connection was found dead: \(run.stderr.suffix(1_000))")
        let time = try #require(run.stderr.range(of: "time: "))
        let seconds = try #require(Double(run.stderr[time.upperBound...].prefix { $0.isNumber || $0 == "." }))
        let heartbeats = SimulatorProcess.counter("heartbeat", in: counters)
        // Each of the 4 connections owes one every interval; at least half of them went (the
        // first interval of each, and the loop's 50 ms tick, make the count a little lower).
        let due = Int(seconds / interval) * 4
        #expect(heartbeats >= due / 2 && heartbeats > 0, "\(heartbeats) heartbeats in \(seconds) s on 4 connections (due: \(due))")
    }
}
