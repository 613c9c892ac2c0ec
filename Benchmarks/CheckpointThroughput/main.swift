// Checkpoint throughput: results stored per second with batching, and the database size per
// million records.
//
//   swift build -c release --product CheckpointThroughput
//   $(swift build -c release --show-bin-path)/CheckpointThroughput [results] [batch] [keep]
import Checkpoint
import Foundation

let total = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1])! : 1_000_000
let batch = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2])! : 1_000
let directory = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoint-bench-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: directory) }
let path = directory.appendingPathComponent("bench.sqlite").path

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

let identity = JobIdentity(
    action: "tokenize", endpoint: "local", templateRef: "438ac8afecdd8035a21c126ee1fe6c19", inputPath: "bench.csv",
    input: InputFingerprint(size: 1, modified: 0, digest: "bench"), mapping: "card_number,card_exp,card_cvv", options: [:]
)
var configuration = CheckpointStore.Configuration()
// `keep`: the committed results stay (the audit trail); by default a commit deletes them.
configuration.keepsAuditTrail = CommandLine.arguments.contains("keep")
let store = try CheckpointStore(path: path, identity: identity, configuration: configuration)
// Shapes of real answers: an 84-character bfid, a 25-digit messageId, three tokens.
let bfidBase = "djE6MTIwMjYxMTIzMDcxNzI3NTYxMDAwMDAwMXw3NGU5ZTEzYTA3YzJhYjY3NGY1OTVhNmZiYTQ3Zjgy"
// Results are made in chunks outside the timed part: what is measured is the store.
var seconds = 0.0
var cpu = 0.0
let chunk = 100_000
var peak = 0
func checkpointSize() -> Int {
    ["", "-wal"].reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: path + $1)[.size] as? Int) ?? 0) }
}
for base in stride(from: 0, to: total, by: chunk) {
    let results = (base..<min(base + chunk, total)).map { seq in
        let number = String(1_000_000 + seq % 1_000_000)
        return RecordResult(
            seq: seq, status: .done, bfid: bfidBase + number, messageId: "120261123071727561" + number,
            tokens: ["40000" + number + "7899", "8594", "449"]
        )
    }
    let cpuStart = cpuSeconds()
    let start = ContinuousClock.now
    // In batches, as the engine's checkpoint stage writes them, with a commit every 5,000
    // records (the engine's default `commitEvery`).
    for start in stride(from: 0, to: results.count, by: batch) {
        try store.write(Array(results[start..<min(start + batch, results.count)]))
        let last = results[min(start + batch, results.count) - 1].seq
        if (last + 1) % 5_000 == 0 || last == total - 1 {
            try store.commit(
                CommitPoint(seq: last, inputOffset: Int64(last) * 70, inputLine: last + 2, outputOffset: Int64(last) * 160, rejectsOffset: 0),
                complete: last == total - 1
            )
            if last % 100_000 == 99_999 { peak = max(peak, checkpointSize()) }
        }
    }
    let elapsed = ContinuousClock.now - start
    seconds += Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    cpu += cpuSeconds() - cpuStart
}
// The largest the files were while running is what the last commit leaves before the WAL is
// truncated; after the job is complete, only the database remains.
var size = 0
for suffix in ["", "-wal"] {
    size += (try? FileManager.default.attributesOfItem(atPath: path + suffix)[.size] as? Int) ?? 0
}
print(String(format: "results=%d batch=%d seconds=%.3f results_per_s=%.0f cpu_us_per_result=%.2f db_mib=%.1f db_mib_per_million=%.1f peak_while_running_mib=%.1f",
             total, batch, seconds, Double(total) / seconds, cpu / Double(total) * 1e6, Double(size) / 1048576, Double(size) / 1048576 / (Double(total) / 1e6),
             Double(peak) / 1048576))
