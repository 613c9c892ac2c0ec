import ArgumentParser
import Checkpoint
import Foundation
import Logging
import Pipeline

extension BatchTokenize {
    /// Cuts an input into shards for runs on several machines (`run --plan FILE --shard N`).
    struct Plan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cut an input into shards of nearly equal record counts, for runs on several machines.",
            discussion: """
                Reads the input once, record by record (quoted line breaks stay inside their record), \
                in constant memory, and writes each shard's first record (seq, byte offset, line) and \
                record count, with the input's size and a digest of it keyed from the API key, so \
                that a shard refuses another file. Give the same key (or --endpoint local) as the runs.

                Example:
                  batch-tokenize plan --input cards.csv --shards 8 --out plan.json

                A table is cut by its key into ranges of nearly equal row counts (counted by the \
                database, in one snapshot); each shard reads its range, and rows inserted later fall \
                into the range of their key. Shards writing a table need no merge.
                  batch-tokenize plan --input 'postgresql://app@db:5432/shop?table=cards&key=id' --shards 8 --out plan.json
                """
        )

        @Option(help: "Input file (CSV or NDJSON), or a table: postgresql://USER@HOST:PORT/DB?table=T&key=K (cut into key ranges).")
        var input: String

        @Option(help: "How many shards.")
        var shards: Int

        @Option(help: "Where to write the plan (JSON).")
        var out: String

        @Option(help: "Input format: csv or ndjson (default: from the file name).")
        var format: InputFormat?

        @Option(help: "CSV delimiter: , tab | ;")
        var delimiter: String?

        @Flag(help: "CSV without a header row (the shards are run with --no-header).")
        var noHeader = false

        @Option(help: "local: the digest is keyed as for --endpoint local runs (no API key needed).")
        var endpoint: String?

        @OptionGroup var credentials: CredentialOptions

        /// A table: cut into key ranges of nearly equal row counts, by the database.
        func planTable(key: DigestKey) throws {
            if format.map({ $0 != .ndjson }) ?? false || delimiter != nil || noHeader {
                throw ValidationError("--format, --delimiter and --no-header are for files: a table's rows are read as JSON objects")
            }
            let logger = Logger(label: "batch-tokenize.plan")
            let plan: ShardPlan
            do {
                let table = try TableInput.parse(input, environment: ProcessInfo.processInfo.environment)
                plan = try ShardPlan.make(table: table, url: input, shards: shards, key: key, logger: logger)
            } catch let error as PostgresSettings.Failure {
                Console.write("error: \(error.description)")
                throw error.kind == .refused ? ExitCodes.refused : error.kind == .unreachable ? ExitCodes.connection : ExitCodes.usage
            }
            try usage { try AtomicFile.write(plan.encoded(), to: out) }
            let largest = plan.shards.map(\.records).max() ?? 0
            let smallest = plan.shards.map(\.records).min() ?? 0
            print(
                "planned \(plan.records) rows of \(plan.input.table ?? "the table") in \(plan.shards.count) key ranges (\(smallest) to \(largest) rows each): \(out)\n"
                    + "rows inserted later fall into the range of their key (past the last key: the last shard's). "
                    + "Shards writing a table need no merge; status --plan shows them"
            )
        }

        func validate() throws {
            guard shards >= 1, shards <= 100_000 else { throw ValidationError("--shards takes 1 to 100000") }
        }

        func run() throws {
            try DistinctFiles.check([
                ("--input", input), ("--out", out), ("--key-file", credentials.keyFile), ("--partner-key-file", credentials.partnerKeyFile),
            ])
            if input == InputSource.standardInput {
                throw ValidationError("plan does not read standard input: it reads its input twice (to count and to cut it); give it a file, or run the piped job unsharded")
            }
            let delimiterByte = try usage { try JobConfiguration.delimiterByte(delimiter) }
            let key = endpoint?.lowercased() == "local" ? DigestKey.local : DigestKey(secret: try credentials.load().authorizationHeader)
            if PostgresSettings.isURL(input) { return try planTable(key: key) }
            // A gzip input: its members, and how fast this machine inflates it (for the cost below).
            var members: (members: [GzipMember], inflatedSize: Int64)?
            var inflateSeconds = 0.0
            if InputCompression.of(path: input) == .gzip {
                let started = ProcessUsage.cpuSeconds()
                members = try usage { try GzipMember.scan(path: input) }
                inflateSeconds = ProcessUsage.cpuSeconds() - started
            }
            let plan = try usage {
                try ShardPlan.make(
                    path: input, format: format ?? InputFormat.guess(path: input), delimiter: delimiterByte, shards: shards, key: key, hasHeader: !noHeader,
                    members: members
                )
            }
            try usage { try AtomicFile.write(plan.encoded(), to: out) }
            let largest = plan.shards.map(\.records).max() ?? 0
            let smallest = plan.shards.map(\.records).min() ?? 0
            print("planned \(plan.records) records in \(plan.shards.count) shards (\(smallest) to \(largest) records each): \(out)")
            if let dropped = plan.inflatedBeforeShards, let members, members.inflatedSize > 0 {
                // What a deflate stream costs a shard: it is read from a member's start, not sought.
                let perByte = inflateSeconds / Double(members.inflatedSize)
                let total = dropped.reduce(0, +)
                let most = dropped.max() ?? 0
                let mb = { (bytes: Int64) in String(format: "%.1f MB", Double(bytes) / 1e6) }
                print(
                    "gzip input, \(members.members.count) member\(members.members.count == 1 ? "" : "s"): the shards inflate and drop \(mb(total)) before their first records "
                        + "(at most \(mb(most)) for one shard), about \(String(format: "%.1f", perByte * Double(total))) s of CPU in all at the rate this machine inflated it"
                        + (members.members.count == 1 && plan.shards.count > 1
                            ? "; recompress with members (pigz -i, bgzip) so that each shard starts near its first record" : "")
                )
            }
        }
    }
}
