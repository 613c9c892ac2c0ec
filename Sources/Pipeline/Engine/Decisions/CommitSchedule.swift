import NIOCore

/// When the commit point moves: every `every` lines written or every `interval`, whichever comes
/// first; and never past the first record left failing transiently (the next run reads it
/// again, and reuses the stored results after it). Pure.
struct CommitSchedule {
    enum Step: Equatable {
        case none
        /// Commit what is written so far.
        case commit
    }

    let every: Int
    let interval: TimeAmount
    private(set) var uncommitted = 0
    private(set) var lastCommit: NIODeadline
    /// A line of a record that failed transiently was written: the commit point stays before it.
    private(set) var frozen = false

    init(every: Int, interval: TimeAmount, now: NIODeadline) {
        self.every = max(1, every)
        self.interval = interval
        lastCommit = now
    }

    /// Before a line is written. `.commit`: this is the first line of a record left failing
    /// transiently: commit everything before it now; the point is frozen from here on.
    mutating func willWrite(transient: Bool) -> Step {
        guard transient && !frozen else { return .none }
        frozen = true
        return .commit
    }

    /// After a line is written: `.commit` when enough lines or time have passed.
    mutating func wrote(now: NIODeadline) -> Step {
        uncommitted += 1
        return uncommitted >= every || now - lastCommit >= interval ? .commit : .none
    }

    /// A commit was handed to the checkpoint.
    mutating func committed(now: NIODeadline) {
        uncommitted = 0
        lastCommit = now
    }
}
