import Checkpoint
import NIOCore

extension Engine {
    /// Writes the finished records at the front of the window, in input order, and commits
    /// every `commitEvery` records or `commitInterval`.
    func drain() throws {
        var now: NIODeadline?
        while case (let seq, var slot)? = slots.popFinished({ $0.isFinished }) {
            if slot.isRepeat { repeatsUnwritten -= 1 }
            switch slot.outcome! {
            case .done(let texts):
                // Moved out of the slot (`if let` of the property copied the record and its values).
                if let mapped = slot.mapped.take() {
                    stage.writeOutput { renderer.render(mapped, texts: texts, into: &$0) }
                    // Its values array serves a record read next.
                    if spareValues.count < 512 { spareValues.append(mapped.values) }
                }
                if texts.hasBfid { summary.done += 1 } else { summary.passedThrough += 1 }
            case .failed(let status, let code, let message):
                if commits.willWrite(transient: status == .transient) == .commit {
                    // Everything before it is committed; from here on the commit point stays put, so
                    // the next run reads this record again (and reuses the stored results after it).
                    watch(commit(freezing: true))
                    stage.lastWritten = nil
                    // No point moves again: a stream's bytes are no longer kept for its digest.
                    source.stopDigesting()
                }
                line.removeAll(keepingCapacity: true)
                rejectsRenderer.render(
                    record: slot.record.number, line: slot.record.position.line, id: identifier?.id(of: slot.record).map(configuration.masking.mask),
                    code: code, message: message, into: &line
                )
                stage.writeReject(line)
                switch status {
                case .rejected: summary.countRejection(code: code, message: message)
                case .transient: summary.transient += 1
                default: summary.outcomeUnknown += 1
                }
            }
            if !commits.frozen { stage.lastWritten = (seq, slot.after) }
            // Its buffers serve the records read next (the mapped record shares them: dropped first).
            slot.mapped = nil
            source.recycle(slot.record)
            if now == nil { now = loop.now }
            if commits.wrote(now: now!) == .commit { watch(commit()) }
        }
        if stage.bufferedBytes >= 256 * 1024 && !stage.isBusy { watch(stage.submit()) }
    }

    /// Hands a commit point (after what is written so far) to the checkpoint stage. Once the point
    /// is frozen, the files are synced and the results stored, and the point stays put.
    /// (`freezing`: the commit that freezes it still moves it, to the last line before.)
    @discardableResult
    func commit(complete: Bool = false, freezing: Bool = false) -> EventLoopFuture<Void> {
        commits.committed(now: loop.now)
        if commits.frozen && !freezing {
            return stage.submit(.synced)
        }
        guard let lastWritten = stage.lastWritten else {
            guard complete else { return stage.submit() }
            let point = stage.commitPoint
                ?? CommitPoint(seq: -1, inputOffset: 0, inputLine: 1, outputOffset: stage.outputOffset, rejectsOffset: stage.rejectsOffset)
            return stage.submit(.committed(point, complete: true))
        }
        let point = CommitPoint(
            seq: lastWritten.seq, inputOffset: lastWritten.after.offset, inputLine: lastWritten.after.line,
            outputOffset: stage.outputOffset, rejectsOffset: stage.rejectsOffset, inputDigest: source.prefixDigest(through: lastWritten.after.offset)
        )
        return stage.submit(.committed(point, complete: complete))
    }
}
