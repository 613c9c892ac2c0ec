import ArgumentParser
import Checkpoint
import Foundation
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
                """
        )

        @Option(help: "Input file (CSV or NDJSON).")
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
