import Checkpoint
import NIOCore
import ShieldConex

extension Engine {
    /// An answer (or the failure of a request), on the loop where it arrived.
    func answered(seq: Int, session: Int, generation: Int, _ result: Result<Response, any Error>) {
        pool.answered(on: session, generation: generation)
        // (A failure is no sign of life: a dead connection's requests fail when it is closed.)
        if case .success = result, pool.sessions[session].generation == generation {
            silence.answered(on: session, stillInFlight: pool.sessions[session].inFlight > 0, now: burstClock ?? loop.now)
        }
        classify(seq: seq, result)
    }

    func classify(seq: Int, _ result: Result<Response, any Error>) {
        // One clock reading for a read burst's answers (the next pump starts a new one): they
        // arrived together, a few microseconds apart at most.
        let now = burstClock ?? loop.now
        burstClock = now
        let found = slots.withSlot(seq) { slot -> (AnswerClassifier.Request, digest: RecordDigest?, sentAt: NIODeadline?, tokenizing: Bool)? in
            guard slot.isAwaitingAnswer else { return nil }
            // While the commit point is frozen every stored result keeps its tokens: its digest now.
            if commits.frozen && slot.digestDeferred && slot.digest == nil { slot.digest = recordDigest(slot.record, slot.mapped) }
            let request = AnswerClassifier.Request(
                values: slot.requestValues, bfid: slot.requestBfid, attempts: slot.attempts, failingSince: slot.failingSince
            )
            return (request, slot.digest, slot.sentAt, slot.plaintext != nil)
        }
        guard let (request, digest, sentAt, tokenizing) = found ?? nil else { return }
        let congestion = AnswerClassifier.isCongestion(result)
        if let sentAt {
            let roundTrip = (now - sentAt).nanoseconds
            latency.record(nanoseconds: roundTrip)
            if controller.answered(roundTrip: roundTrip, inFlight: pool.inFlight, now: now, congestion: congestion) { windowChanged() }
        }
        if AnswerClassifier.isTransient(result) {
            summary.transientAnswers += 1
            watchdog.refused(Self.refusalReason(result))
        } else {
            watchdog.progressed(now: now)
        }
        if let lowered = planner.answered(congestion: congestion, now: now) {
            logger.info(
                "the service is pushing back (transient answers): lowering the send rate",
                metadata: ["rate": "\(Int(lowered))", "transient.share": "\(Int(planner.aimd.transientShare * 100))%"]
            )
        }
        let attempts = request.attempts
        // A retokenize record's tokenize answer is the tokenize classifier's (each called in place, not copied).
        let verdict = tokenizing
            ? tokenizeClassifier!.classify(result, of: request, now: now, stopping: lifecycle.isStopping, random: &random)
            : classifier.classify(result, of: request, now: now, stopping: lifecycle.isStopping, random: &random)
        switch verdict {
        case .done(let answered):
            guard case .finished(let texts) = slots[seq]!.answered(answered) else {
                planner.enqueue(seq)
                return
            }
            if action == .retokenize && !tokenizing {
                // The old tokens' plaintext, in this slot only: sent at once to be tokenized
                // under the new template. (Not checkpointed: a record stopped here is
                // detokenized again by the next run.)
                slots[seq]!.beginTokenizing(plaintext: texts)
                summary.detokenizedToRetokenize += 1
                planner.enqueue(seq)
                return
            }
            slots[seq]!.plaintext = nil
            // The plaintext of a detokenize stays in memory until its line is written; the
            // checkpoint learns only that it was done.
            var result = RecordResult(seq: seq, status: .done, texts: action.answersPlaintext ? texts.withoutValues : texts, attempts: attempts)
            result.recordDigest = digest
            stage.record(result)
            slots[seq]!.outcome = .done(texts)
            releaseRepeats(of: seq, texts)
        case .retry(let delay, let failingSince):
            slots[seq]!.failingSince = failingSince
            slots[seq]!.waitingToRetry = true
            slots[seq]!.isRetry = true
            // Retries wait on the loop's timer: precise, and independent of the task pool.
            loop.scheduleTask(in: delay.timeAmount) { [self] in handle(.retryDue(seq: seq)) }
        case .rejected(let code, let message, let messageId):
            fail(seq, .rejected, code: code, message: message, messageId: messageId, attempts: attempts, digest: digest)
        case .transient(let code, let message, let messageId):
            fail(seq, .transient, code: code, message: message, messageId: messageId, attempts: attempts, digest: digest)
        case .outcomeUnknown(let message, let messageId):
            fail(seq, .outcomeUnknown, code: "outcome-unknown", message: message, messageId: messageId, attempts: attempts, digest: digest)
        case .fatal(let message):
            lifecycle.failFatally(JobError(.fatalAnswer, message))
        }
    }

    /// What a transient answer was, for the watchdog's message: the service's code, or what
    /// became of the request.
    static func refusalReason(_ result: Result<Response, any Error>) -> String {
        switch result {
        case .success(let response): response.failure?.code.map { String($0.rawValue) } ?? "transient"
        case .failure: "no answer (lost or timed out)"
        }
    }

    private func fail(
        _ seq: Int, _ status: RecordResult.Status, code: String, message: String, messageId: String?, attempts: Int, digest: RecordDigest?
    ) {
        var result = RecordResult(seq: seq, status: status, messageId: messageId, errorCode: code, message: message, attempts: attempts)
        result.recordDigest = digest
        stage.record(result)
        slots[seq]!.outcome = .failed(status, code: code, message: message)
        slots[seq]!.plaintext = nil
        releaseRepeats(of: seq, nil)
    }

    /// A deduplicating job's record finished: the records waiting for its request take its
    /// answer. Without one (refused, transient, unknown), each is sent on its own; when the
    /// run is stopping, they are left transient, as it is (the next run sends them).
    func releaseRepeats(of seq: Int, _ texts: ResultTexts?) {
        guard repeats != nil, let digest = slots[seq]?.digest, let release = repeats!.finished(digest, seq: seq, texts: texts) else { return }
        for follower in release.followers {
            guard slots.contains(follower) else { continue }
            if let texts {
                slots.withSlot(follower) { finishAsRepeat(&$0, texts) }
            } else if lifecycle.isStopping {
                let message = "transient: the run stopped before the record with the same values was answered; the next run of the same command sends it again"
                var result = RecordResult(seq: follower, status: .transient, errorCode: "transient", message: message, attempts: 0)
                result.recordDigest = digest
                stage.record(result)
                slots[follower]!.outcome = .failed(.transient, code: "transient", message: message)
            } else {
                planner.enqueue(follower)
            }
        }
    }

    func retryDue(_ seq: Int) {
        guard slots.contains(seq), slots[seq]!.waitingToRetry else { return }
        slots[seq]!.waitingToRetry = false
        planner.enqueue(seq)
    }
}
