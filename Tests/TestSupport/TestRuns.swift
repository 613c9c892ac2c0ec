import Checkpoint
import Foundation

/// Runs of the executable that the suites share: the usual tokenize arguments, a run started in
/// the background, and waiting for it to commit.
public enum TestRuns {
    /// The sample template (samples/templates.json): card_number, card_exp, card_cvv.
    public static let template = "438ac8afecdd8035a21c126ee1fe6c19"

    /// The mapping of the three card fields.
    public static let mapping = ["--map", "card_number=card_number", "--map", "card_exp=card_exp", "--map", "card_cvv=card_cvv"]

    /// The arguments of a tokenize run of `input` against `url` into `output`, three fields mapped.
    public static func tokenize(_ input: String, _ url: String, _ output: String) -> [String] {
        ["run", "--endpoint", url, "--input", input, "--output", output, "--template-ref", template] + mapping
    }

    /// Starts `batch-tokenize` with `arguments` and the simulator's key (and `environment`); stderr
    /// is readable through the returned pipe.
    public static func start(_ arguments: [String], environment: [String: String] = [:]) throws -> (process: Process, stderr: Pipe) {
        let process = BinaryLauncher.process(arguments, environment: ["SCX_API_KEY": TestKeys.simulator].merging(environment) { $1 })
        let stderr = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderr
        try process.run()
        return (process, stderr)
    }

    /// Reads `pipe` until a line containing `text` has arrived (or the pipe ends); returns all read.
    public static func read(_ pipe: Pipe, until text: String) -> String {
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains(text) {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
        }
        return String(decoding: seen, as: UTF8.self)
    }

    /// Waits until the run has committed at least `seq` (the moment is chosen by the run's
    /// progress, not by a clock), or has ended.
    public static func waitForCommit(_ checkpoint: String, atLeast seq: Int, while process: Process) {
        while process.isRunning {
            if let summary = try? CheckpointStore.summary(path: checkpoint), (summary.commitPoint?.seq ?? -1) >= seq { return }
            usleep(2_000)
        }
    }

    /// Runs `batch-tokenize run` against `simulator` with its key, from the project's root.
    public static func tokenize(_ arguments: [String], simulator: SimulatorProcess) throws -> BinaryLauncher.Outcome {
        try BinaryLauncher.run(
            ["run", "--endpoint", simulator.url] + arguments, environment: ["SCX_API_KEY": TestKeys.simulator], directory: ProjectFiles.root
        )
    }

    /// Runs `batch-tokenize` with the simulator's key (and `environment`).
    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> BinaryLauncher.Outcome {
        try BinaryLauncher.run(arguments, environment: ["SCX_API_KEY": TestKeys.simulator].merging(environment) { $1 })
    }
}
