import ArgumentParser
import Checkpoint
import Foundation
import Logging
import Pipeline
import ShieldConex

extension BatchTokenize {
    /// Tokenizes a file (or runs the action of its job file), or with `--dry-run` only maps it.
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Tokenize the mapped values of a CSV or NDJSON file; run it again to resume.",
            discussion: """
                Mapping: --map COLUMN=FIELD (CSV column or top-level NDJSON key) or --map '$.path=FIELD' \
                (NDJSON), optionally followed by :luhn,digits,skip-empty; or the instructions of a job \
                file (--config job.json, ORCA-shaped). Command-line options override the job file.

                Example:
                  batch-tokenize run --endpoint local --template-ref 438ac8afecdd8035a21c126ee1fe6c19 \\
                    --input samples/cards.csv --output /tmp/cards.tokenized.csv \\
                    --map card_number=card_number:digits,luhn,skip-empty --map card_exp=card_exp

                  batch-tokenize run --config samples/job-cards-csv.json --endpoint cert --key-file ~/.scx.key \
                    --output cards.tokenized.csv --report run.json --metrics-file /var/lib/node_exporter/batch_tokenize.prom

                On a terminal a progress line is redrawn in place; otherwise a progress line is logged \
                every --progress-interval seconds. The summary goes to stderr at the end.

                \(ExitCodes.table)
                """
        )

        @OptionGroup var options: JobOptions

        @Flag(help: "Read and map the whole input without connecting; print what would be sent.")
        var dryRun = false

        @Flag(help: "Ask ShieldConex to store the bfid for a later tokenization-read.")
        var store = false

        @Flag(help: "Ask ShieldConex not to return the tokens; give --store too, and read them later with 'read'.")
        var omit = false

        @OptionGroup var repeats: DedupOptions

        func run() async throws {
            let job = try options.jobFile()
            guard let inputPath = job.input?.path else { throw ValidationError("no input: give --input FILE or input.path in the job file") }
            let inputFormat = job.input?.format ?? InputFormat.guess(path: inputPath)
            let delimiterByte = try usage { try JobConfiguration.delimiterByte(job.input?.delimiter) }
            let action = try usage { try job.action.map(JobAction.parse) } ?? .tokenize

            guard dryRun else {
                try await JobRunner(
                    action: action, options: options, job: job, store: store || (job.store ?? false), omit: omit || (job.omit ?? false),
                    dedup: repeats.dedup(job), templateIdempotent: repeats.templateIdempotent(job),
                    fromTemplate: job.fromTemplateRef, oldBfidColumn: job.output?.oldBfidColumn
                ).run()
                return
            }
            Console.masking = CardNumberMasking(pattern: job.cardNumberPattern)
            // The one file a dry run may write is not one it reads.
            try DistinctFiles.check([("--input", inputPath), ("--config", options.config), ("--rejects", options.rejects)])
            let opened = try usage {
                try InputSource.open(path: inputPath, format: inputFormat, delimiter: delimiterByte, hasHeader: job.input?.header ?? true)
            }
            let mapper = try usage { try FieldMapper(instructions: job.instructions ?? [], format: inputFormat, header: opened.header) }
            _ = try usage {
                try OutputRenderer(
                    format: inputFormat, header: opened.header, delimiter: delimiterByte,
                    bfidColumn: options.bfidColumn ?? job.output?.bfidColumn ?? "bfid", writesBfid: action.addsBfidColumn,
                    oldBfidColumn: action == .retokenize ? job.output?.oldBfidColumn ?? "old_bfid" : nil
                )
            }
            try usage {
                try RecordIdentifier.checkBfidColumn(
                    options.bfidColumn ?? job.output?.bfidColumn ?? "bfid", producesBfid: action.addsBfidColumn, format: inputFormat, header: opened.header,
                    mapper: mapper
                )
            }
            let identifier = try usage {
                try job.input?.idColumn.map { name in
                    let identifier = try RecordIdentifier(idColumn: name, format: inputFormat, header: opened.header)
                    try identifier.checkNotMapped(by: mapper, name: name)
                    return identifier
                }
            }
            // A dry run writes no file unless told on the command line (a job file's relative
            // rejects path would land in whatever folder the dry run is started from).
            let rejectsFile = try options.rejects.map { path in
                let file = try OutputFile(path: path)
                try file.write(RejectsRenderer.headerLine)
                return file
            }
            var rejectLine: [UInt8] = []
            let renderer = RejectsRenderer()
            var reader = opened.reader
            var report = DryRunReport()
            // Repeats are counted by digests under a key of this run's own (none is stored).
            var repeats = RepeatedValues(key: DigestKey(secret: (0..<4).map { _ in String(UInt64.random(in: .min ... .max), radix: 16) }.joined()))
            while let record = try reader.next() {
                let outcome = mapper.map(record)
                report.count(outcome)
                if case .success(let mapped) = outcome { repeats.count(mapped) }
                if case .failure(let error) = outcome, let rejectsFile {
                    rejectLine.removeAll(keepingCapacity: true)
                    renderer.render(
                        record: record.number, line: record.position.line, id: identifier?.id(of: record).map(Console.mask),
                        code: error.code.rawValue, message: Console.mask(error.message), into: &rejectLine
                    )
                    try rejectsFile.write(rejectLine)
                }
            }
            try rejectsFile?.sync()
            print(report)
            print(repeats)
            print(String(format: "peak memory: %.1f MiB", ProcessUsage.peakResidentMiB()))
        }
    }
}

/// Runs `body`, turning any error into a usage error (exit status 64) with the same message:
/// bad options and unusable inputs are reported before anything is sent.
func usage<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ValidationError {
        throw error
    } catch {
        throw ValidationError("\(error)")
    }
}

extension InputFormat: ExpressibleByArgument {}
