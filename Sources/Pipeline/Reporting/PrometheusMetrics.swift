/// A job's figures in the Prometheus text exposition format (version 0.0.4), for
/// node_exporter's textfile collector: every sample is a gauge of the last run, labelled with
/// the job id and action.
public enum PrometheusMetrics {
    public static func render(_ report: JobReport, finishedAtUnixSeconds: Double) -> String {
        var out = ""
        var base = [("job_id", report.job.id ?? ""), ("action", report.job.action), ("template_ref", report.job.templateRef)]
        // The shards of one job share its id: without the shard their series would collide.
        if let shard = report.job.shard { base.append(("shard", String(shard))) }

        func family(_ name: String, _ help: String, _ samples: [(labels: [(String, String)], value: Double)]) {
            out += "# HELP batch_tokenize_\(name) \(help)\n# TYPE batch_tokenize_\(name) gauge\n"
            for sample in samples {
                let labels = (base + sample.labels).map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",")
                out += "batch_tokenize_\(name){\(labels)} \(format(sample.value))\n"
            }
        }

        let records = report.records
        family("records", "Records of the last run, by state.", [
            ([("state", "read")], Double(records.read)),
            ([("state", "done")], Double(records.done)),
            ([("state", "passed_through")], Double(records.passedThrough)),
            ([("state", "rejected")], Double(records.rejected)),
            ([("state", "outcome_unknown")], Double(records.outcomeUnknown)),
            ([("state", "transient")], Double(records.transient)),
            ([("state", "unfinished")], Double(records.unfinished)),
            ([("state", "reused_from_checkpoint")], Double(records.reusedFromCheckpoint)),
            ([("state", "deduplicated")], Double(records.deduplicated)),
            ([("state", "finished_by_earlier_runs")], Double(records.finishedByEarlierRuns)),
        ])
        family("rejected_records", "Rejected records of the last run, by error code.",
            report.rejectedByCode.sorted { $0.key < $1.key }.map { ([("code", $0.key)], Double($0.value)) })
        family("requests", "Requests of the last run, by kind.", [
            ([("kind", "sent")], Double(report.requests.sent)),
            ([("kind", "retry")], Double(report.requests.retries)),
            ([("kind", "transient")], Double(report.requests.transientAnswers)),
        ])
        family("reconnects", "Connections re-opened during the last run.", [([], Double(report.requests.reconnects))])
        family("duration_seconds", "Duration of the last run.", [([], report.seconds)])
        family("records_per_second", "Records read per second over the last run.", [([], report.recordsPerSecond)])
        if let latency = report.latencyMilliseconds {
            family("latency_seconds", "Request latency of the last run (HdrHistogram quantiles; 1 is the maximum).", [
                ([("quantile", "0.5")], latency.p50 / 1000),
                ([("quantile", "0.9")], latency.p90 / 1000),
                ([("quantile", "0.99")], latency.p99 / 1000),
                ([("quantile", "1")], latency.max / 1000),
            ])
        }
        if let window = report.window {
            family("window", "Requests in flight allowed by the window (adaptive unless --fixed-concurrency).", [
                ([("at", "start")], Double(window.start)),
                ([("at", "end")], Double(window.last)),
                ([("at", "peak")], Double(window.peak)),
                ([("at", "ceiling")], Double(window.ceiling)),
            ])
            family("window_changes", "Changes of the window during the last run, by reason.",
                window.changes.sorted { $0.key < $1.key }.map { ([("reason", $0.key)], Double($0.value)) })
            family("window_last_change", "1 for the reason the window last changed.", [([("reason", window.lastReason)], 1)])
            family("connections", "Connections the last run opened.", [([], Double(window.connections))])
        }
        family("exit_code", "Exit status of the last run (0 every record done, 2 finished with rejects; see --help).", [([], Double(report.exitCode))])
        family("success", "1 if the last run finished every record, else 0.", [([], report.exitCode == 0 ? 1 : 0)])
        family("last_run_timestamp_seconds", "When the last run ended (Unix time).", [([], finishedAtUnixSeconds)])
        return out
    }

    static func escape(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
