/// A snapshot of a running job, taken four times a second for the progress display.
public struct JobProgress: Sendable, Hashable {
    /// Records finished (written to the output or the rejects file), counting earlier runs of a resumed job.
    public var finished = 0
    /// Records finished before this run started (a resumed job).
    public var finishedBefore = 0
    /// The number of records in the input: exact once the reader reached the end, else estimated
    /// from the bytes read so far and the file size (`totalIsEstimate`); `nil` before any record.
    public var total: Int?
    public var totalIsEstimate = true
    public var inFlight = 0
    /// The window of requests in flight now, and why it last changed (``ConcurrencyController``).
    public var window = 0
    public var windowReason = "start"
    /// Connections up.
    public var connections = 0
    /// Records rejected or with an unknown outcome, this run.
    public var errors = 0
    public var retries = 0
    public var reconnects = 0
    /// Seconds since the run started.
    public var seconds = 0.0

    public init() {}

    /// The total estimated from `records` read in `bytesRead` bytes of a `fileSize`-byte file.
    public static func estimateTotal(records: Int, bytesRead: Int64, fileSize: Int64) -> Int? {
        guard records > 0, bytesRead > 0 else { return nil }
        return max(records, Int(exactly: (Double(records) * Double(fileSize) / Double(bytesRead)).rounded()) ?? records)
    }

    /// Seconds until `total` at `rate` records/s; `nil` when the rate is zero, unknown or too
    /// small to say (an ETA of more than 100 days is no ETA).
    public static func eta(total: Int?, finished: Int, rate: Double) -> Double? {
        guard let total, rate.isFinite, rate >= 0.001 else { return nil }
        let seconds = Double(max(0, total - finished)) / rate
        return seconds.isFinite && seconds <= 100 * 86_400 ? seconds : nil
    }

    /// `1:02:03` or `2:03`; `—` for a time that is not a finite, sane number of seconds.
    public static func clock(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite, seconds >= 0, seconds < 1e9 else { return "—" }
        let whole = Int(seconds.rounded())
        let (hours, minutes, secs) = (whole / 3600, whole / 60 % 60, whole % 60)
        return hours > 0 ? String(format: "%d:%02d:%02d", hours, minutes, secs) : String(format: "%d:%02d", minutes, secs)
    }

    /// A rate for display: a whole number, 0 for anything not finite or negative.
    public static func wholeRate(_ rate: Double) -> Int {
        guard rate.isFinite, rate > 0 else { return 0 }
        return Int(exactly: rate.rounded()) ?? Int.max
    }
}
