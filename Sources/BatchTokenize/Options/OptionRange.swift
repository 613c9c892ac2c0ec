import ArgumentParser

/// Checks that a number given on the command line (or in a job file) is finite and in its
/// allowed range, so that no later conversion (`Int64(seconds * 1000)`, `count * count`) can
/// trap: a usage error (exit 64) that names the range.
enum OptionRange {
    static func check(_ value: Double, _ name: String, _ range: ClosedRange<Double>, unit: String = "") throws {
        guard value.isFinite, range.contains(value) else {
            throw ValidationError("\(name) must be between \(format(range.lowerBound)) and \(format(range.upperBound))\(unit) (got \(value))")
        }
    }

    static func check(_ value: Int, _ name: String, _ range: ClosedRange<Int>) throws {
        guard range.contains(value) else {
            throw ValidationError("\(name) must be between \(range.lowerBound) and \(range.upperBound) (got \(value))")
        }
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    /// Longest span any seconds option accepts: a week.
    static let week = 604_800.0
}
