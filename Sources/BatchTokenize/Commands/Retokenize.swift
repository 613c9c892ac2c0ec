import ArgumentParser
import Pipeline

extension BatchTokenize {
    /// Moves tokens to a new template: each record's tokens are detokenized under the old
    /// template and the plaintext tokenized under the new one, in one pass.
    struct Retokenize: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a tokenized file's tokens to a new template (detokenize under --from-template, tokenize under --template-ref); run it again to resume.",
            discussion: """
                Each record's bfid is read from --bfid-column and its mapped token columns are \
                detokenized under the old template; the plaintext, kept in memory for that record \
                only (never in the checkpoint, the output, the rejects file or a log line), is \
                tokenized under the new template at once. The output holds the new tokens in place \
                of the old, the new bfid in the bfid column, and the old bfid in --old-bfid-column \
                (the audit trail). Records whose old tokens the service will not detokenize (1403: \
                outside the old template's detokenization window; 1402: an irreversible template) \
                go to the rejects file with that code.

                Both templates have the mapped fields' names: each --map COLUMN=FIELD names a \
                field of the old template and of the new one.

                Example:
                  batch-tokenize retokenize --endpoint local --from-template 438ac8afecdd8035a21c126ee1fe6c19 \\
                    --template-ref card-rotated --input cards.tokenized.csv --output cards.moved.csv \\
                    --map card_number=card_number --map card_exp=card_exp

                \(ExitCodes.table)
                """
        )

        @OptionGroup var options: JobOptions

        @Option(help: "The old template: the one the input's tokens were made with.")
        var fromTemplate: String?

        @Option(help: "The output column (CSV) or key (NDJSON) that keeps each record's old bfid (default: old_bfid).")
        var oldBfidColumn: String?

        @OptionGroup var repeats: DedupOptions

        func run() async throws {
            var job = try options.jobFile()
            if let action = job.action, try usage({ try JobAction.parse(action) }) != .retokenize {
                throw ValidationError("the job file's action is \(action): retokenize runs retokenize jobs (use run for the others)")
            }
            if let fromTemplate { job.fromTemplateRef = fromTemplate }
            try await JobRunner(
                action: .retokenize, options: options, job: job, dedup: repeats.dedup(job), templateIdempotent: repeats.templateIdempotent(job),
                fromTemplate: job.fromTemplateRef,
                oldBfidColumn: oldBfidColumn ?? job.output?.oldBfidColumn
            ).run()
        }
    }
}
