import Foundation
import NIOConcurrencyHelpers
import Pipeline

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything the tool writes to stderr goes through here: each text is masked (anything that
/// looks like a card number, with the job's ORCA pattern), and while a progress line is shown on
/// a terminal, it is erased before another line is written and drawn again after, so the
/// terminal never scrolls because of it.
enum Console {
    private struct State {
        var masking = CardNumberMasking()
        /// The progress line on screen, if any.
        var progress: String?
    }

    private static let state = NIOLockedValueBox(State())

    /// Whether stderr is a terminal.
    static let isTerminal = isatty(STDERR_FILENO) == 1

    /// The masking pattern of the job (from its `logSettings`).
    static var masking: CardNumberMasking {
        get { state.withLockedValue { $0.masking } }
        set { state.withLockedValue { $0.masking = newValue } }
    }

    static func mask(_ text: String) -> String {
        masking.mask(text)
    }

    /// Writes `text` (one or more lines) to stderr, masked (unless the caller masked it already,
    /// as JSON lines are: their strings are masked, their numbers left intact).
    static func write(_ text: String, alreadyMasked: Bool = false) {
        state.withLockedValue { state in
            let line = text.hasSuffix("\n") ? text : text + "\n"
            let masked = alreadyMasked ? line : state.masking.mask(line)
            if let progress = state.progress {
                emit("\r\u{1B}[2K" + masked + progress)
            } else {
                emit(masked)
            }
        }
    }

    /// Shows `line` as the progress line (terminals only), replacing the previous one.
    static func showProgress(_ line: String) {
        state.withLockedValue { state in
            let fitted = String(state.masking.mask(line).prefix(max(20, terminalColumns() - 1)))
            state.progress = fitted
            emit("\r\u{1B}[2K" + fitted)
        }
    }

    /// Erases the progress line, leaving the cursor at the start of an empty line.
    static func clearProgress() {
        state.withLockedValue { state in
            guard state.progress != nil else { return }
            state.progress = nil
            emit("\r\u{1B}[2K")
        }
    }

    private static func emit(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { systemWrite(STDERR_FILENO, $0.baseAddress! + offset, $0.count - offset) }
            if written <= 0 {
                if written < 0 && errno == EINTR { continue }
                return
            }
            offset += written
        }
    }

    /// The terminal's width, or 80 when unknown.
    static func terminalColumns() -> Int {
        var size = winsize()
        guard ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
private let systemWrite = Darwin.write
#endif
