#if canImport(Glibc)
import Glibc
#endif
import CShims
import Foundation

/// What a crash may leave behind: nothing of the process's memory. The Swift runtime's
/// backtracer prints registers and the memory they point at (a card expiry appeared in one), and
/// a core dump would hold every record in flight. So, first thing in `main`:
/// - no core dump: `RLIMIT_CORE` 0 and `PR_SET_DUMPABLE` 0 (which also keeps other processes
///   of the same user from reading this one's memory through ptrace);
/// - no backtracer: it is configured only from the environment, read when the runtime starts,
///   so a process started without `SWIFT_BACKTRACE=enable=no` re-executes itself once with it.
enum CrashHygiene {
    static let variable = "SWIFT_BACKTRACE"

    static func apply() {
        #if os(Linux)
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(Int32(RLIMIT_CORE.rawValue), &none)
        _ = batch_tokenize_disable_dumping()
        if getenv(variable).map({ String(cString: $0) }) != "enable=no" {
            setenv(variable, "enable=no", 1)
            // The same program, arguments and pid; only the backtracer is off. If exec fails the
            // process goes on (core dumps are off all the same).
            let arguments = CommandLine.unsafeArgv
            execv("/proc/self/exe", arguments)
        }
        #endif
    }
}
