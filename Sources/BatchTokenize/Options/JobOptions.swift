import ArgumentParser
import Checkpoint
import Foundation
import Logging
import Pipeline
import ShieldConex

/// The options of every job command (run, detokenize, read): what to read, how to map it,
/// where to write, which service to use, and how hard to push it.
struct JobOptions: ParsableArguments {
    @Option(help: "Input file (CSV or NDJSON; gzip is read as it is), or - for standard input (with --input-name).")
    var input: String?

    @Option(help: "With --input -: the name the job is known by (its checkpoint identity, with the format and the mapping); run the same pipeline with the same name to resume.")
    var inputName: String?

    @Option(help: "Output file (created with mode 0600).")
    var output: String?

    @Option(help: "Input format: csv or ndjson (default: from the file name).")
    var format: InputFormat?

    @Option(help: "CSV delimiter: , tab | ;")
    var delimiter: String?

    @Flag(help: "CSV without a header row: the first row is data, columns are named by position (--map '#2=card_number'), and the output has no header row.")
    var noHeader = false

    @Option(name: .customLong("map"), help: "COLUMN=FIELD or '$.path=FIELD', optionally :luhn,digits,skip-empty (repeatable).")
    var maps: [String] = []

    @Option(help: "A job file (JSON, ORCA-shaped).")
    var config: String?

    @Option(help: "The template of the job.")
    var templateRef: String?

    @Option(help: "A column or key that identifies records in the rejects file (never a sensitive one).")
    var idColumn: String?

    @Option(help: "The bfid column (CSV) or key (NDJSON): added by tokenize, read by detokenize and read (default: bfid).")
    var bfidColumn: String?

    @Option(help: "Rejects file (CSV: record, line, id, error code, message; never the values). Default: <output>.rejects.csv.")
    var rejects: String?

    @Option(help: "staging, cert, production, local (embedded simulator), or a ws:// or wss:// URL.")
    var endpoint: String?

    @OptionGroup var credentials: CredentialOptions

    @Option(help: "Checkpoint file (default: <output>.checkpoint.sqlite).")
    var checkpoint: String?

    @Option(help: "A plan made by 'batch-tokenize plan': run one of its shards, into <output stem>.shard-INDEX<ext> (--input defaults to the plan's).")
    var plan: String?

    @Option(help: "The shard of --plan to run, from 0 (default: JOB_COMPLETION_INDEX, else AWS_BATCH_JOB_ARRAY_INDEX).")
    var shard: Int?

    @Flag(help: "Exit with status 0, not 2, when the job finished with records in the rejects file: for a scheduler that retries any other status (a Kubernetes Job, an AWS Batch job); the summary and the report still count them.")
    var succeedWithRejects = false

    @Option(help: "With --plan: this shard's requests per second (default: --rate, the whole job's, divided by the number of shards).")
    var ratePerShard: Double?

    @Flag(help: "Send a record's several regex matches of one field in one request, the field name repeated (only for a service known to accept that). By default the k-th match of each field goes in the k-th request and the bfid column holds the bfids separated by spaces.")
    var allowRepeatedFields = false

    @Option(help: "WebSocket connections at the start (more are opened as the window grows, up to --connections-max).")
    var connections = 4

    @Option(help: "Requests in flight per connection at the start: the window of requests in flight starts at --connections × --in-flight and adapts to the service's latency and throttling.")
    var inFlight = 64

    @Option(help: "The most WebSocket connections the window may open (default: 16, at least --connections).")
    var connectionsMax: Int?

    @Option(help: "The most requests in flight per connection (default: 256, at least --in-flight).")
    var inFlightMax: Int?

    @Flag(help: "Keep the window at --connections × --in-flight: no adapting to the service.")
    var fixedConcurrency = false

    @Option(help: "Requests per second over all connections (default: no limit; lowered while the service throttles).")
    var rate: Double?

    @Option(help: "The largest burst under --rate (default: a tenth of a second's worth).")
    var burst: Double?

    @OptionGroup var timing: TimingOptions

    @Option(help: "Seconds a record that fails transiently (8001, 1429, timeouts, lost connections) keeps being retried, with backoff up to 30 s between attempts; after that it goes to the rejects file as transient and the next run sends it again.")
    var retryFor: Double = 600

    @Option(help: "Seconds that requests in flight get to answer after SIGINT/SIGTERM before they are abandoned.")
    var stopDeadline: Double = 10

    @Flag(help: "Discard an existing checkpoint and start over.")
    var restart = false

    @Option(help: "Records between commits (at most; a commit also comes every half second). Larger commits cost a table output fewer transactions, and memory (its rows are kept until their commit). Default: 5000.")
    var commitEvery: Int?

    @Flag(help: "The nightly form, for a table input: a job that finished before reads only the rows after the key its last run committed.")
    var sinceLastRun = false

    @Flag(help: "Keep every committed record's status, error code, bfid and messageId in the checkpoint (never its tokens), as an audit trail. By default a commit keeps only the counts: the output holds the bfids, the rejects file the refusals.")
    var keepAuditTrail = false

    @OptionGroup var log: LogOptions

    @Option(help: "Seconds between progress lines when stderr is not a terminal (on a terminal, one line is redrawn 4 times a second).")
    var progressInterval: Double = 10

    @Option(help: "Write the summary as JSON to this file at the end (figures and job identity; no secrets, no values).")
    var report: String?

    @Option(help: "Write the figures in Prometheus text format to this file at the end (atomically; for node_exporter's textfile collector).")
    var metricsFile: String?


    /// The job file merged with the command line (which wins).
    func jobFile() throws -> JobConfiguration {
        var job = try usage { try config.map(JobConfiguration.load(path:)) } ?? JobConfiguration()
        if !maps.isEmpty {
            job.instructions = try usage { try maps.map { try Instruction(shortForm: $0) } }
        }
        var inputSettings = job.input ?? .init()
        if let input { inputSettings.path = input }
        // A shard of a plan reads the plan's input unless told otherwise.
        if inputSettings.path == nil, let plan { inputSettings.path = try usage { try ShardPlan.read(path: plan).input.path } }
        if let format { inputSettings.format = format }
        if let delimiter { inputSettings.delimiter = delimiter }
        if noHeader { inputSettings.header = false }
        if let idColumn { inputSettings.idColumn = idColumn }
        if let inputName { inputSettings.name = inputName }
        job.input = inputSettings
        return job
    }
}
