import Foundation
import TestSupport
import Testing

/// The engine against a server that misbehaves in each of the ways a network and a service can:
/// every run of 20,000 records ends with a complete, correct output in input order, byte for byte
/// the output of a run against a healthy server (both with `--deterministic-ids`, so that a
/// request sent again gets the same bfid).
struct FaultMatrixTests {
    static let records = 20_000

    struct Fault: Sendable, CustomTestStringConvertible {
        var name: String
        var simulator: [String]
        var client: [String] = []
        /// What the simulator's counters must show: that the fault did happen.
        var happened: @Sendable (String) -> Bool

        var testDescription: String { name }
    }

    static let faults: [Fault] = [
        // A reset (TCP RST, no close frame) at 20 points spread over the run, the validation's
        // requests included, so that every phase of a connection's life meets one.
        Fault(
            name: "connection reset at 20 points",
            simulator: ["--reset-at", (1...20).map { String($0 * records / 20 - 7) }.joined(separator: ",")],
            happened: { FaultMatrixTests.number(after: "dropped on purpose: ", in: $0) == 20 }
        ),
        // A connection that stops answering and reading without closing: only its requests'
        // deadline (2 s here) can tell; it is closed and its requests go again on another.
        Fault(
            name: "half-open connection",
            simulator: ["--stall-at", "3000,12000"],
            client: ["--timeout", "2"],
            happened: { SimulatorProcess.counter("connections stalled on purpose", in: $0) == 2 }
        ),
        Fault(name: "slow server (200 ms)", simulator: ["--latency-ms", "200"], happened: { _ in true }),
        Fault(
            name: "2% server errors",
            simulator: ["--error-rate", "0.02"],
            happened: { SimulatorProcess.counter("8001", in: $0) > 100 }
        ),
        Fault(
            name: "throttling with 8001",
            // Below what the client sends however busy the machine is: it must meet the limit.
            simulator: ["--rate-limit", "1000", "--throttle-code", "8001"],
            happened: { SimulatorProcess.counter("8001", in: $0) > 0 }
        ),
    ]

    /// The output and rejects of a run against a healthy server, made once.
    static let reference: Result<(folder: TestFolder, output: Data, rejects: Data), any Error> = Result {
        let folder = try TestFolder(prefix: "fault-matrix")
        try folder.write(TestCards.csv(rows: records), to: "cards.csv")
        let simulator = try SimulatorProcess(["--deterministic-ids"])
        let run = try BinaryLauncher.run(
            arguments(url: simulator.url, folder: folder, output: "reference.csv"), environment: ["SCX_API_KEY": TestKeys.simulator]
        )
        _ = simulator.stop()
        guard run.status == 0 else { throw CocoaError(.fileReadUnknown, userInfo: ["stderr": run.stderr]) }
        return (
            folder, try Data(contentsOf: URL(fileURLWithPath: folder.path("reference.csv"))),
            try Data(contentsOf: URL(fileURLWithPath: folder.path("reference.csv.rejects.csv")))
        )
    }

    /// The number that follows `label` in the simulator's counters.
    static func number(after label: String, in counters: String) -> Int? {
        guard let range = counters.range(of: label) else { return nil }
        return Int(counters[range.upperBound...].prefix { $0.isNumber })
    }

    static func arguments(url: String, folder: TestFolder, output: String) -> [String] {
        [
            "run", "--endpoint", url, "--template-ref", TestRuns.template, "--input", folder.path("cards.csv"),
            "--output", folder.path(output), "--map", "card_number=card_number", "--map", "card_exp=card_exp", "--progress-interval", "3600",
        ]
    }

    @Test(arguments: faults)
    func everyRunEndsCompleteCorrectAndInOrder(fault: Fault) throws {
        let reference = try Self.reference.get()
        let output = "out-\(fault.name.filter { $0.isLetter || $0.isNumber }).csv"
        let simulator = try SimulatorProcess(["--deterministic-ids"] + fault.simulator)
        let run = try BinaryLauncher.run(
            Self.arguments(url: simulator.url, folder: reference.folder, output: output) + fault.client,
            environment: ["SCX_API_KEY": TestKeys.simulator]
        )
        let counters = simulator.stop()
        #expect(run.status == 0, "\(fault.name): \(run.stderr.suffix(2_000))")
        #expect(fault.happened(counters), "\(fault.name): the fault did not happen: \(counters)")
        #expect(run.stderr.contains("the books balance: read \(Self.records)"), "\(run.stderr.suffix(1_000))")
        let written = try Data(contentsOf: URL(fileURLWithPath: reference.folder.path(output)))
        let rejects = try Data(contentsOf: URL(fileURLWithPath: reference.folder.path(output + ".rejects.csv")))
        #expect(written == reference.output, "\(fault.name): the output differs from a healthy run's")
        #expect(rejects == reference.rejects, "\(fault.name): the rejects differ from a healthy run's")
    }
}
