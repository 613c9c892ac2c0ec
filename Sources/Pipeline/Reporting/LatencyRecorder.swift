import Histogram

/// Request latencies (send to answer) in an HdrHistogram: constant memory, 3 significant digits.
public struct LatencyRecorder: Sendable {
    private var histogram = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)

    public init() {}

    /// Records one latency in nanoseconds.
    public mutating func record(nanoseconds: Int64) {
        _ = histogram.record(UInt64(max(1, nanoseconds / 1_000)))
    }

    public var count: UInt64 { histogram.totalCount }

    /// The 99th percentile in nanoseconds (0 before any answer).
    public var p99Nanoseconds: Int64 { Int64(histogram.valueAtPercentile(99)) * 1_000 }

    /// p50, p90, p99 and max in milliseconds; `nil` before any answer.
    public var summary: LatencySummary? {
        guard histogram.totalCount > 0 else { return nil }
        func ms(_ micros: UInt64) -> Double { Double(micros) / 1_000 }
        return LatencySummary(
            p50: ms(histogram.valueAtPercentile(50)), p90: ms(histogram.valueAtPercentile(90)),
            p99: ms(histogram.valueAtPercentile(99)), max: ms(histogram.max)
        )
    }
}

/// Latency percentiles of a job, in milliseconds.
public struct LatencySummary: Sendable, Hashable, Codable, CustomStringConvertible {
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var max: Double

    public var description: String {
        String(format: "p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms", p50, p90, p99, max)
    }
}
