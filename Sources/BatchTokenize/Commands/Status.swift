import ArgumentParser
import Checkpoint
import Foundation
import Pipeline

extension BatchTokenize {
    /// Prints what a checkpoint holds; works while the job is running.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a job's checkpoint: identity, progress, rejects, completeness.",
            discussion: """
                Reads the checkpoint without changing it, so it can watch a job that is running.

                With --plan, every shard of a sharded job on one screen (give the --output the shards \
                were given): records committed of its share, rejects, complete or not, last update.

                Example:
                  batch-tokenize status --output /tmp/cards.tokenized.csv
                  batch-tokenize status --checkpoint /tmp/cards.tokenized.csv.checkpoint.sqlite --json
                  batch-tokenize status --plan plan.json --output cards.tokenized.csv
                """
        )

        @Option(help: "A plan (batch-tokenize plan): show each of its shards; --output is the job's output.")
        var plan: String?

        @Option(help: "The checkpoint file.")
        var checkpoint: String?

        @Option(help: "The job's output file (its checkpoint is <output>.checkpoint.sqlite), or table (postgresql://…?table=T).")
        var output: String?

        @Flag(help: "Print JSON instead of text.")
        var json = false

        func validate() throws {
            if plan != nil {
                if output == nil || checkpoint != nil { throw ValidationError("with --plan, give --output FILE (the job's output), not --checkpoint") }
            } else if (checkpoint == nil) == (output == nil) {
                throw ValidationError("give exactly one of --checkpoint FILE or --output FILE")
            }
        }

        func run() throws {
            if let plan { return try showShards(plan: plan) }
            // A table output's checkpoint is named after the table, in the working folder.
            let path = try checkpoint ?? CheckpointStore.defaultPath(forOutput: PostgresSettings.isURL(output!) ? usage { try TableOutputNames.base(output!) } : output!)
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

        /// Every shard of a plan: its state from its checkpoint, one line each (or JSON).
        func showShards(plan path: String) throws {
            let plan = try usage { try ShardPlan.read(path: path) }
            let shards = ShardMerge(plan: plan, output: output!).shards()
            let formatter = ISO8601DateFormatter()
            if json {
                let rows: [[String: Any]] = shards.map { files in
                    var row: [String: Any] = [
                        "index": files.shard.index, "records": files.shard.records, "firstRecord": files.shard.firstSeq + 1,
                        "afterKey": files.shard.afterKey ?? NSNull(), "throughKey": files.shard.throughKey ?? NSNull(),
                        "checkpoint": files.checkpoint, "complete": files.summary?.complete ?? false,
                    ]
                    if let summary = files.summary {
                        row["committed"] = max(0, summary.recordsCommitted - files.shard.firstSeq)
                        row["rejected"] = summary.rejected
                        row["outcomeUnknown"] = summary.outcomeUnknown
                        row["lastUpdate"] = summary.lastUpdate.map(formatter.string(from:))
                    }
                    if let problem = files.problem { row["problem"] = problem }
                    return row
                }
                let object: [String: Any] = ["plan": path, "records": plan.records, "shards": rows]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
                return
            }
            var lines = ["plan \(path): \(plan.records) records in \(plan.shards.count) shards"]
            for files in shards {
                let shard = files.shard
                // A table's shard is a key range: its rows counted when the plan was made.
                let range = plan.input.table == nil
                    ? "records \(shard.firstSeq + 1)-\(shard.endSeq)"
                    : "keys " + (shard.afterKey.map { "after \($0)" } ?? "from the start") + " " + (shard.throughKey.map { "through \($0)" } ?? "to the end")
                var line = "shard \(shard.index) (\(range)): "
                if let summary = files.summary {
                    let share = plan.input.table == nil ? "of \(shard.records)" : "of ~\(shard.records) planned"
                    line += "\(max(0, summary.recordsCommitted - shard.firstSeq)) \(share) committed, \(summary.rejected) rejected"
                    if summary.outcomeUnknown > 0 { line += ", \(summary.outcomeUnknown) outcome unknown" }
                    line += summary.complete && files.problem == nil ? ", complete" : ""
                    line += ", last update \(summary.lastUpdate.map(formatter.string(from:)) ?? "none")"
                }
                if let problem = files.problem { line += (files.summary != nil ? "; " : "") + problem }
                lines.append(line)
            }
            let ready = shards.allSatisfy { $0.problem == nil }
            if PostgresSettings.isURL(output!) {
                // Shards writing a table wrote it themselves: nothing to merge.
                lines.append(ready ? "every shard is complete: the table holds every shard's rows (nothing to merge)" : "not every shard is complete")
            } else {
                lines.append(ready ? "every shard is complete: batch-tokenize merge --plan \(path) --output \(output!)" : "not ready to merge")
            }
            print(lines.joined(separator: "\n"))
        }
    }
}
