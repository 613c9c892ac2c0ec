import Checkpoint

/// What a resuming run does with an earlier run's stored result for a record it reads again.
/// Pure: the driver maps the record and takes its digest, this decides.
enum StoredResultReuse: Equatable {
    /// A read that went out before the last run stopped, its answer never recorded: finished as
    /// outcome unknown, never sent again (a read succeeds once per bfid).
    case outcomeUnknown
    /// The stored result stands for the record as it is now: its line is rendered from it.
    case take
    /// Sent again: the result is not there to render (plaintext is never stored), does not fit
    /// the record any more (a damaged row), or belongs to values the record no longer has.
    case askAgain

    /// `mappedValues`: how many values the record maps to now (`nil`: it does not map);
    /// `digestMatches`: whether the stored digest is the record's as it is now (asked only
    /// when the result has one).
    static func decide(
        _ stored: RecordResult, answersPlaintext: Bool, mappedValues: Int?, digestMatches: () -> Bool
    ) -> StoredResultReuse {
        switch stored.status {
        case .transient:
            return .askAgain
        case .sent:
            return .outcomeUnknown
        case .done where answersPlaintext && stored.texts.hasBfid:
            return .askAgain
        default:
            if stored.status == .done, stored.texts.hasBfid, let mappedValues, stored.texts.valueCount != mappedValues { return .askAgain }
            if stored.digest != nil && !digestMatches() { return .askAgain }
            return .take
        }
    }
}
