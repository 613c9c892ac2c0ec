import Checkpoint
import NIOCore
import ShieldConex

/// One record in the reorder window, from when it is read until its line is written. Changed in
/// place in the window (never copied on the hot path: a copy retains every array and string it holds).
struct EngineSlot {
    /// How a record ended, in memory: what its output or rejects line needs. The checkpoint keeps
    /// a ``Checkpoint/RecordResult`` of it, without plaintext.
    enum Outcome {
        /// The texts' values: tokens (tokenize, read) or plaintext (detokenize, never
        /// checkpointed); no bfid: passed through (nothing to send). Bytes until the line is written.
        case done(ResultTexts)
        /// A line of the rejects file: `status` is rejected, outcome-unknown or transient.
        case failed(RecordResult.Status, code: String, message: String)
    }

    var record: InputRecord
    var mapped: MappedRecord?
    var after: RecordPosition
    /// The bfid read from the record (detokenize, read and retokenize jobs).
    var bfid: String?
    /// A retokenize record whose detokenize was answered: its plaintext values, to be tokenized
    /// under the new template. Here only, in memory, until its tokenize is answered (or it
    /// fails): never in the checkpoint, a file or a log line.
    var plaintext: [FieldValue]?
    var outcome: Outcome?
    var attempts = 0
    var sentAt: NIODeadline?
    /// When the record first failed transiently: its retry budget runs from here.
    var failingSince: NIODeadline?
    /// A retry is scheduled (not in flight).
    var waitingToRetry = false
    /// The next send repeats a request that failed (counted as a retry).
    var isRetry = false
    /// A record whose values name a field twice goes as several requests, one after the other:
    /// the groups (indices into the mapped values), the one being sent, and what the earlier
    /// ones answered.
    var groups: [[Int]]?
    var group = 0
    var groupTokens: [String] = []
    var groupBfids: [String] = []
    /// The keyed digest of the record's values as read now, stored with its result.
    var digest: RecordDigest?
    /// Its digest is taken only if its result goes to the checkpoint before its line is written
    /// (``Engine/digestOfUnwritten(_:)``); a slot that did not defer it (a result reused from an
    /// earlier run, kept without a digest as it was) never gets one that way.
    var digestDeferred = false
    /// A deduplicating job's record that takes (or waits for) an earlier record's answer: not
    /// sent, so not counted by the requests' read-ahead; counted by ``Engine/repeatsUnwritten``.
    var isRepeat = false

    init(record: InputRecord, after: RecordPosition) {
        self.record = record
        self.after = after
    }

    var isFinished: Bool { outcome != nil }

    /// Sent and not yet finished: an answer for it is news. (Matched by pattern, which reads the
    /// slot in place; `mapped != nil` copied the mapped record on every answer.)
    var isAwaitingAnswer: Bool {
        guard case .none = outcome, case .some = mapped else { return false }
        return true
    }

    /// The values of the request being sent (a retokenize record's plaintext once detokenized):
    /// all of them, or the current group's.
    var requestValues: [FieldValue] {
        let values = plaintext ?? mapped!.values
        guard let groups else { return values }
        return groups[group].map { values[$0] }
    }

    /// The bfid of the request being sent (detokenize, read): the current group's.
    var requestBfid: String? {
        guard let bfid, groups != nil else { return bfid }
        return String(bfid.split(separator: MappedRecord.bfidSeparator)[group])
    }

    /// What one successful answer of a record sent as several requests means.
    enum GroupStep {
        /// Every group is in: the record's texts (its bfids joined, its tokens in place).
        case finished(ResultTexts)
        /// The next group is to be sent.
        case sendNext
    }

    /// Takes a successful answer of the request being sent: for a record of several groups, keeps
    /// its tokens and bfid and moves to the next group, until the last.
    mutating func answered(_ answered: ResultTexts) -> GroupStep {
        guard let groups else { return .finished(answered) }
        let (bfid, values) = (answered.bfid ?? "", answered.values)
        if !values.isEmpty {
            if groupTokens.isEmpty { groupTokens = Array(repeating: "", count: mapped!.values.count) }
            for (offset, index) in groups[group].enumerated() where offset < values.count {
                groupTokens[index] = values[offset]
            }
        }
        groupBfids.append(bfid)
        guard group + 1 == groups.count else {
            group += 1
            failingSince = nil
            return .sendNext
        }
        return .finished(
            ResultTexts(bfid: groupBfids.joined(separator: String(MappedRecord.bfidSeparator)), messageId: answered.messageId, values: groupTokens)
        )
    }

    /// A retokenize record's detokenize is answered (every group): its plaintext becomes the
    /// values to send, under the new template, from the first group again.
    mutating func beginTokenizing(plaintext texts: ResultTexts) {
        let answered = texts.values
        let names = mapped!.values
        var values: [FieldValue] = []
        values.reserveCapacity(names.count)
        for (index, value) in names.enumerated() {
            values.append(FieldValue(name: value.name, value: index < answered.count ? answered[index] : ""))
        }
        plaintext = values
        group = 0
        groupTokens = []
        groupBfids = []
        failingSince = nil
    }
}
