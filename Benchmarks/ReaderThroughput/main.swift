// Reader throughput: MB/s and records/s of the CSV and NDJSON readers, and Python's csv / json
// modules on the same files, in the same run.
//
//   swift build -c release --product ReaderThroughput
//   $(swift build -c release --show-bin-path)/ReaderThroughput [rows]
//
// The input is generated with scripts/generate-cards.py (seeded) into a temporary folder.
import Foundation
import Pipeline

let rows = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1])! : 1_000_000
let directory = FileManager.default.temporaryDirectory.appendingPathComponent("reader-bench-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: directory) }
let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../scripts/generate-cards.py").standardizedFileURL.path

@discardableResult
func shell(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

let python = """
    import csv, json, sys, time
    path, fmt = sys.argv[1], sys.argv[2]
    t = time.perf_counter(); n = 0
    with open(path, newline='', encoding='utf-8') as f:
        if fmt == 'csv':
            r = csv.reader(f); next(r)
            for row in r: n += 1
        else:
            for line in f:
                if line.strip(): json.loads(line); n += 1
    print(n, time.perf_counter() - t)
    """

for format in InputFormat.allCases {
    let path = directory.appendingPathComponent("cards.\(format.rawValue)").path
    try shell(["python3", script, "--rows", String(rows), "--seed", "7", "--format", format.rawValue, "--out", path])
    let size = Double((try FileManager.default.attributesOfItem(atPath: path)[.size] as! NSNumber).intValue)
    let cpu = cpuSeconds()
    let start = ContinuousClock.now
    var (reader, _) = try InputSource.open(path: path, format: format)
    var count = 0
    var invalid = 0
    while let record = try reader.next() {
        count += 1
        if record.error != nil { invalid += 1 }
    }
    let elapsed = ContinuousClock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let cpuUsed = cpuSeconds() - cpu
    print(String(format: "swift  %@ records=%d invalid=%d MB=%.1f seconds=%.3f MB_per_s=%.1f records_per_s=%.0f cpu_us_per_record=%.2f peak_rss_mib=%.1f",
                 format.rawValue, count, invalid, size / 1e6, seconds, size / 1e6 / seconds, Double(count) / seconds, cpuUsed / Double(count) * 1e6, peakRSSMiB()))
    let parts = try shell(["python3", "-c", python, path, format.rawValue]).split(separator: " ")
    let pyCount = Int(parts[0])!
    let pySeconds = Double(parts[1].trimmingCharacters(in: .whitespacesAndNewlines))!
    print(String(format: "python %@ records=%d MB=%.1f seconds=%.3f MB_per_s=%.1f records_per_s=%.0f",
                 format.rawValue, pyCount, size / 1e6, pySeconds, size / 1e6 / pySeconds, Double(pyCount) / pySeconds))
}
