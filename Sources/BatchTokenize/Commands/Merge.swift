import ArgumentParser
import Foundation
import Pipeline

extension BatchTokenize {
    /// Joins the shards of a plan into one output and one rejects file.
    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Join the outputs and rejects of a plan's shards, once every shard is complete.",
            discussion: """
                Checks that every shard's checkpoint is complete and belongs to this plan, then writes \
                the shards' outputs one after the other (the CSV header once) to --output and their \
                rejects to --rejects, through temporary files renamed into place, and prints the books \
                over the whole input. A missing or unfinished shard is named and nothing is written.

                Example:
                  batch-tokenize merge --plan plan.json --output cards.tokenized.csv --report merged.json

                Exit status: 0 merged, every record finished; 2 merged, with records in the rejects \
                file; 1 a shard is missing or unfinished (nothing written); 64 usage.
                """
        )

        @Option(help: "The plan the shards ran (batch-tokenize plan).")
        var plan: String

        @Option(help: "The merged output: the one the shards were given (each wrote <output stem>.shard-INDEX<ext>).")
        var output: String

        @Option(help: "The merged rejects file (default: <output>.rejects.csv).")
        var rejects: String?

        @Option(help: "Write the merged books as JSON to this file.")
        var report: String?

        @Option(help: "The --checkpoint the shards were given, if any (each used it named after its shard).")
        var checkpoint: String?

        @Flag(help: "Exit with status 0, not 2, when records are in the rejects file (for a scheduler that fails any other status).")
        var succeedWithRejects = false

        func run() throws {
            let plan = try usage { try ShardPlan.read(path: self.plan) }
            let merge = ShardMerge(plan: plan, output: output, rejects: rejects, checkpoint: checkpoint)
            if merge.writesTable { return try tableWritten(merge) }
            // What merge writes must be none of what it reads: the input, the plan, a shard's files.
            var files: [(option: String, path: String?)] = [
                ("the plan's input", plan.input.path), ("--plan", self.plan), ("--output", output), ("--rejects", merge.rejects), ("--report", report),
            ]
            for shard in merge.shards() {
                files += [
                    ("shard \(shard.shard.index)'s output", shard.output), ("shard \(shard.shard.index)'s rejects", shard.rejects),
                    ("shard \(shard.shard.index)'s checkpoint", shard.checkpoint),
                ]
            }
            try DistinctFiles.check(files)
            let books: ShardMerge.Books
            do {
                books = try merge.merge()
            } catch let error as ShardMerge.MergeError {
                Console.write("error: \(error)")
                throw ExitCodes.failure
            }
            var lines = [
                "merged \(plan.shards.count) shards: \(books.records) records",
                "done: \(books.done)",
                "rejected: \(books.rejected)",
            ]
            for (code, count) in books.rejectedByErrorCode.sorted(by: { $0.key < $1.key }) {
                lines.append("  \(code): \(count)")
            }
            lines.append("outcome unknown: \(books.outcomeUnknown)")
            lines.append(books.balance ? "the books balance: \(books.records) records" : "the books do not balance")
            lines.append("output: \(output)")
            lines.append("rejects: \(merge.rejects)")
            print(lines.joined(separator: "\n"))
            if let report {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try AtomicFile.write(try encoder.encode(MergeReport(plan: self.plan, output: output, rejects: merge.rejects, books: books)), to: report)
            }
            if books.rejected + books.outcomeUnknown > 0 && !succeedWithRejects { throw ExitCodes.finishedWithRejects }
        }

        /// Shards that wrote a table have nothing to join: said, with whether every shard is complete
        /// and where each one's rejects are (exit 0 when all are, so that a pipeline that always merges works).
        private func tableWritten(_ merge: ShardMerge) throws {
            let shards = merge.shards()
            let problems = shards.compactMap { files in files.problem.map { "shard \(files.shard.index): \($0)" } }
            guard problems.isEmpty else {
                Console.write("error: the shards are not all complete: " + problems.joined(separator: "; "))
                throw ExitCodes.failure
            }
            let rejected = shards.reduce(0) { $0 + ($1.summary?.rejected ?? 0) + ($1.summary?.outcomeUnknown ?? 0) }
            var lines = ["nothing to merge: every shard wrote its rows into \(output) itself, each commit with its progress row; all \(shards.count) shards are complete"]
            if rejected > 0 { lines.append("rejected: \(rejected), in " + shards.map(\.rejects).joined(separator: ", ")) }
            print(lines.joined(separator: "\n"))
            if rejected > 0 && !succeedWithRejects { throw ExitCodes.finishedWithRejects }
        }
    }
}

extension BatchTokenize {
    /// What `merge --report` writes.
    struct MergeReport: Encodable {
        var plan: String
        var output: String
        var rejects: String
        var books: ShardMerge.Books
    }
}
