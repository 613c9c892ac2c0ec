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
        return max(records, Int((Double(records) * Double(fileSize) / Double(bytesRead)).rounded()))
    }
}
