import Foundation

/// This process's resource use, for reports.
enum ProcessUsage {
    /// Peak resident set size in MiB.
    static func peakResidentMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
