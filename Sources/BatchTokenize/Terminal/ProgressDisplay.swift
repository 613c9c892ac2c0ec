import Foundation
import NIOConcurrencyHelpers
import Pipeline

/// Shows a running job's progress on stderr: on a terminal, one line redrawn with each
/// snapshot (four a second) and erased at the end; elsewhere (cron, CI, `| tee`), a plain log
/// line every `interval` seconds. Records/s is smoothed over about five seconds.
final class ProgressDisplay: Sendable {
    enum Mode: Sendable {
        case off
        case terminal
        case lines(interval: Double)
    }

    private struct State {
        var rate: Double?
        var lastFinished = 0
        var lastSeconds = 0.0
        var lastLine = 0.0
    }

    let mode: Mode
    let format: LogFormat
    let action: String
    private let state = NIOLockedValueBox(State())

    init(mode: Mode, format: LogFormat, action: String) {
        self.mode = mode
        self.format = format
        self.action = action
    }

    func update(_ progress: JobProgress) {
        if case .off = mode { return }
        let output: String? = state.withLockedValue { state in
            let elapsed = progress.seconds - state.lastSeconds
            if elapsed > 0 {
                let instant = Double(progress.finished - (state.rate == nil ? progress.finishedBefore : state.lastFinished)) / elapsed
                let weight = 1 - exp(-elapsed / 5)
                state.rate = state.rate.map { $0 + (instant - $0) * weight } ?? instant
                state.lastFinished = progress.finished
                state.lastSeconds = progress.seconds
            }
            switch mode {
            case .off:
                return nil
            case .terminal:
                return terminalLine(progress, rate: state.rate ?? 0)
            case .lines(let interval):
                guard progress.seconds - state.lastLine >= interval else { return nil }
                state.lastLine = progress.seconds
                return logLine(progress, rate: state.rate ?? 0)
            }
        }
        guard let output else { return }
        switch (mode, format) {
        case (.terminal, _): Console.showProgress(output)
        case (_, .json): Console.write(output, alreadyMasked: true)
        default: Console.write(output)
        }
    }

    /// Erases the terminal line; call before the summary.
    func finish() {
        Console.clearProgress()
    }

    func terminalLine(_ progress: JobProgress, rate: Double) -> String {
        var parts = ["\(action) \(Self.grouped(progress.finished)) / \(total(progress, grouped: true))"]
        if let percent = percent(progress) { parts.append(String(format: "%.1f%%", percent)) }
        parts.append("\(Self.grouped(JobProgress.wholeRate(rate))) rec/s")
        parts.append("ETA \(JobProgress.clock(eta(progress, rate: rate)))")
        parts.append("in flight \(progress.inFlight)/\(progress.window) (\(progress.windowReason))")
        parts.append("conns \(progress.connections)")
        parts.append("errors \(progress.errors)")
        parts.append("reconnects \(progress.reconnects)")
        return parts.joined(separator: "  ")
    }

    func logLine(_ progress: JobProgress, rate: Double) -> String {
        let etaSeconds = eta(progress, rate: rate)
        switch format {
        case .text:
            var text = "\(timestamp()) progress: \(progress.finished) of \(total(progress, grouped: false)) records"
            if let percent = percent(progress) { text += String(format: " (%.1f%%)", percent) }
            text += String(format: ", %.0f records/s", rate)
            text += ", ETA \(JobProgress.clock(etaSeconds))"
            text += ", in flight \(progress.inFlight) of a window of \(progress.window) (\(progress.windowReason)), connections \(progress.connections)"
            text += ", errors \(progress.errors), retries \(progress.retries), reconnects \(progress.reconnects)"
            return text
        case .json:
            var object: [String: Any] = [
                "time": timestamp(), "level": "info", "logger": "batch-tokenize.progress", "message": "progress",
                "finished": progress.finished, "totalIsEstimate": progress.totalIsEstimate, "recordsPerSecond": JobProgress.wholeRate(rate),
                "inFlight": progress.inFlight, "window": progress.window, "windowReason": progress.windowReason,
                "connections": progress.connections, "errors": progress.errors, "retries": progress.retries, "reconnects": progress.reconnects,
                "elapsedSeconds": (progress.seconds * 10).rounded() / 10,
            ]
            if let total = progress.total { object["total"] = total }
            if let etaSeconds { object["etaSeconds"] = etaSeconds.rounded() }
            return MaskedLogHandler.jsonLine(object)
        }
    }

    func total(_ progress: JobProgress, grouped: Bool) -> String {
        guard let total = progress.total else { return "?" }
        return (progress.totalIsEstimate ? "~" : "") + (grouped ? Self.grouped(total) : String(total))
    }

    func percent(_ progress: JobProgress) -> Double? {
        guard let total = progress.total, total > 0 else { return nil }
        return min(100, Double(progress.finished) * 100 / Double(total))
    }

    func eta(_ progress: JobProgress, rate: Double) -> Double? {
        JobProgress.eta(total: progress.total, finished: progress.finished, rate: rate)
    }

    /// `1,234,567`.
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return (value < 0 ? "-" : "") + out
    }
}
