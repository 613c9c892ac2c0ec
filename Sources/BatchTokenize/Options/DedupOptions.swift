import ArgumentParser
import Pipeline

/// `--dedup` and its guard, for the commands whose jobs tokenize (run, retokenize).
struct DedupOptions: ParsableArguments {
    @Flag(help: "Send each distinct record once: a record whose mapped values are all an earlier record's takes its tokens and bfid (kept in the checkpoint by keyed digest). Not with --store or --omit.")
    var dedup = false

    @Flag(help: "The template does not give the same token for the same value: --dedup is refused.")
    var templateNotIdempotent = false

    /// The command line's choice, else the job file's.
    func dedup(_ job: JobConfiguration) -> Bool { dedup || (job.dedup ?? false) }

    /// Whether the template gives the same token for the same value (the command line or the job file may say not).
    func templateIdempotent(_ job: JobConfiguration) -> Bool { !templateNotIdempotent && (job.templateIdempotent ?? true) }
}
