import ArgumentParser
import Checkpoint
import Foundation

extension BatchTokenize {
    /// Prints what a checkpoint holds; works while the job is running.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a job's checkpoint: identity, progress, rejects, completeness.",
            discussion: """
                Reads the checkpoint without changing it, so it can watch a job that is running.

                Example:
                  batch-tokenize status --output /tmp/cards.tokenized.csv
                  batch-tokenize status --checkpoint /tmp/cards.tokenized.csv.checkpoint.sqlite --json
                """
        )

        @Option(help: "The checkpoint file.")
        var checkpoint: String?

        @Option(help: "The job's output file (its checkpoint is <output>.checkpoint.sqlite).")
        var output: String?

        @Flag(help: "Print JSON instead of text.")
        var json = false

        func validate() throws {
            if (checkpoint == nil) == (output == nil) { throw ValidationError("give exactly one of --checkpoint FILE or --output FILE") }
        }

        func run() throws {
            let path = checkpoint ?? CheckpointStore.defaultPath(forOutput: output!)
            let summary: CheckpointSummary
            do {
                summary = try CheckpointStore.summary(path: path)
            } catch {
                throw ValidationError("\(error)")
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                encoder.dateEncodingStrategy = .iso8601
                print(String(decoding: try encoder.encode(summary), as: UTF8.self))
            } else {
                print(summary.text)
            }
        }
    }
}
