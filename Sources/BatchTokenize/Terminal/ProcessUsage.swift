import Foundation

/// This process's resource use, for reports.
enum ProcessUsage {
    /// Peak resident set size in MiB: this program's own. On Linux `ru_maxrss` keeps, across
    /// exec, the peak of the process it was started from (a test runner of 100 MiB made a dry
    /// run over 2 million rows report 109 MiB); `VmHWM` of /proc/self/status is the peak of this
    /// program's own address space.
    static func peakResidentMiB() -> Double {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        {
            return kilobytes / 1024
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    /// CPU time this process has used (user and system), in seconds.
    static func cpuSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
