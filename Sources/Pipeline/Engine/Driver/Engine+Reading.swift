import Checkpoint
import NIOCore
import ShieldConex

extension Engine {
    /// How many seqs of stored results are loaded at once on a resume.
    static let reusedChunk = 8_192

    /// Reads records while the window has room and the send queue is short: each is mapped,
    /// finished at once when it cannot be sent (or when an earlier run's result is reused), or
    /// queued to be sent.
    func fill() throws {
        let readAhead = planner.readAhead(perConnection: configuration.inFlight, writerBusy: stage.isBusy)
        while !lifecycle.sourceEnded, !slots.isFull, planner.queued < readAhead, repeatsUnwritten < max(readAhead, controller.window), !waitingForSource {
            guard slots.nextToRead < readLimit else {
                if try checkShardEnd() { lifecycle.sourceDidEnd() }
                return
            }
            switch try source.read() {
            case .wait(let ready):
                waitForSource(ready)
                return
            case .end:
                if let shard = configuration.shardEndingByCount, slots.nextToRead < shard.endSeq {
                    throw ShardPlan.PlanError(
                        .inputChanged,
                        "the input ends at record \(slots.nextToRead), before the last record of shard \(shard.index) (record \(shard.endSeq)): "
                            + "it changed since the plan was made; what was finished is committed; make the plan again"
                    )
                }
                lifecycle.sourceDidEnd()
                return
            case .record(let record, let after):
                summary.recordsRead += 1
                // Made by a function of its own so that it is moved into the window: a local
                // variable passed to it was copied.
                slots.append(try slot(for: record, after: after))
            }
        }
    }

    /// The source has no record ready: the engine pumps again when it may have.
    private func waitForSource(_ ready: EventLoopFuture<Void>) {
        waitingForSource = true
        ready.whenComplete { [self] _ in handle(.sourceReady) }
    }

    /// At a shard's last record: the next record must start where the plan says the next shard
    /// starts (or the input end there), else the input changed since the plan was made and the
    /// shards would lose or double records between them. `false`: the source has no record ready
    /// yet (asked again at the next pump).
    private func checkShardEnd() throws -> Bool {
        guard let shard = configuration.shardEndingByCount else { return true }
        let next: RecordPosition?
        do {
            switch try source.read() {
            case .wait(let ready):
                waitForSource(ready)
                return false
            case .end: next = nil
            case .record(let record, _): next = record.position
            }
        } catch {
            // The next shard's first record is its own to judge (a bad quote is its reject).
            return true
        }
        guard next?.offset != configuration.shardEndOffset else { return true }
        throw ShardPlan.PlanError(
            .inputChanged,
            "shard \(shard.index)'s last record (record \(shard.endSeq)) does not end where the plan says the next shard starts: "
                + "the input changed since the plan was made; what was finished is committed; make the plan again"
        )
    }

    /// The slot of a record just read: a stored result reused, a local outcome, or its request
    /// queued.
    private func slot(for record: InputRecord, after: RecordPosition) throws -> EngineSlot {
        var slot = EngineSlot(record: record, after: after)
        if record.seq > reusedThrough {
            reusedThrough = record.seq + Self.reusedChunk - 1
            reused = try stage.results(in: record.seq...reusedThrough)
        }
        // (A fresh run has none: no hashing per record.)
        if !reused.isEmpty, let stored = reused.removeValue(forKey: record.seq), reuse(stored, into: &slot) {
            return slot
        }
        let mapping = mapper.map(record, reusing: spareValues.popLast() ?? [])
        // The digest now for a result stored now (a record finished here, a detokenize or read
        // job's checks) or while the commit point is frozen; the others' when their result is
        // handed to the checkpoint, and only if its line is not written by then (``digestOfUnwritten(_:)``).
        let finishedHere = switch mapping {
        case .failure: true
        case .success(let mapped): mapped.values.isEmpty || bfidReader != nil
        }
        if finishedHere || commits.frozen || repeats != nil {
            slot.digest = recordDigest(record, try? mapping.get())
        } else {
            slot.digestDeferred = true
        }
        switch mapping {
        case .failure(let error):
            finishLocally(&slot, .rejected, code: error.code.rawValue, message: configuration.masking.mask(error.message))
        case .success(let mapped):
            slot.mapped = mapped
            if mapped.values.isEmpty {
                slot.outcome = .done(.empty)
                var result = RecordResult(seq: record.seq, status: .done, attempts: 0)
                result.recordDigest = slot.digest
                stage.record(result)
            } else if let bfidReader {
                // The bfid column says how the record was tokenized: one bfid, one request (the
                // one-request form); several, one request per group of values.
                let bfid = bfidReader.id(of: record) ?? ""
                let bfids = bfid.split(separator: MappedRecord.bfidSeparator).count
                if bfids > 1, let groups = mapped.requestGroups { slot.groups = groups }
                if !bfid.isEmpty, bfids == (slot.groups?.count ?? 1) {
                    slot.bfid = bfid
                    // A retokenize record whose old tokens an earlier record's request took (the
                    // same tokens of the same template: the same plaintext).
                    if repeats != nil, try takeRepeat(&slot) { return slot }
                    planner.enqueue(record.seq)
                } else if !bfid.isEmpty {
                    finishLocally(
                        &slot, .rejected, code: "bfid-mismatch",
                        message: "the record has \(mapped.requestGroups?.count ?? 1) groups of values but \(bfids) bfids in '\(configuration.bfidColumn)'"
                    )
                } else {
                    finishLocally(&slot, .rejected, code: "missing-bfid", message: "the record has no value in '\(configuration.bfidColumn)'")
                }
            } else {
                if !configuration.allowRepeatedFields, let groups = mapped.requestGroups {
                    slot.groups = groups
                    slot.groupTokens = Array(repeating: "", count: mapped.values.count)
                }
                if repeats != nil, try takeRepeat(&slot) { return slot }
                planner.enqueue(record.seq)
            }
        }
        return slot
    }

    /// A deduplicating job's record: `true` when it takes an earlier record's answer (from
    /// memory, or the checkpoint's) or waits for the earlier record's request in flight;
    /// `false` when it is sent, the one the later records with its values wait for.
    private func takeRepeat(_ slot: inout EngineSlot) throws -> Bool {
        let (digest, seq) = (slot.digest!, slot.record.seq)
        switch repeats!.lookup(digest, seq: seq) {
        case .answered(let texts):
            finishAsRepeat(&slot, texts)
            return true
        case .waits:
            slot.isRepeat = true
            repeatsUnwritten += 1
            return true
        case .unknown:
            if !keptDigestsLoaded {
                // Earlier runs' answers: their digests into the filter, once.
                keptDigestsLoaded = true
                try stage.forEachRemembered { repeats!.noteKept($0) }
            }
            if repeats!.mayBeKept(digest), let texts = try stage.remembered(digest), texts.valueCount == slot.mapped?.values.count {
                repeats!.remember(digest, texts)
                finishAsRepeat(&slot, texts)
                return true
            }
            repeats!.lead(digest, seq: seq)
            return false
        }
    }

    /// A record whose values an earlier record's request tokenized: it takes that answer (its
    /// tokens and bfid), stored as its own result.
    func finishAsRepeat(_ slot: inout EngineSlot, _ texts: ResultTexts) {
        if !slot.isRepeat {
            slot.isRepeat = true
            repeatsUnwritten += 1
        }
        slot.outcome = .done(texts)
        var result = RecordResult(seq: slot.record.seq, status: .done, texts: texts, attempts: 0)
        result.recordDigest = slot.digest
        stage.record(result)
        summary.deduplicated += 1
    }

    /// A record finished without a request (it cannot be sent): its result is stored.
    private func finishLocally(_ slot: inout EngineSlot, _ status: RecordResult.Status, code: String, message: String) {
        slot.outcome = .failed(status, code: code, message: message)
        var result = RecordResult(seq: slot.record.seq, status: status, errorCode: code, message: message, attempts: 0)
        result.recordDigest = slot.digest
        stage.record(result)
    }

    /// Takes an earlier run's result for a record when it still fits (``StoredResultReuse``);
    /// `false` to ask again.
    private func reuse(_ stored: RecordResult, into slot: inout EngineSlot) -> Bool {
        let remapped: Result<MappedRecord, RecordError>? = stored.status == .sent ? nil : mapper.map(slot.record)
        let decision = StoredResultReuse.decide(
            stored, answersPlaintext: action.answersPlaintext, mappedValues: (try? remapped?.get())?.values.count,
            digestMatches: { [self] in
                frameValues(slot.record, remapped!)
                return digestKey.recordDigest(stored.digest!, matches: digestScratch)
            }
        )
        switch decision {
        case .askAgain:
            return false
        case .outcomeUnknown:
            finishLocally(
                &slot, .outcomeUnknown, code: "outcome-unknown",
                message: "the read was sent before the previous run stopped and its answer was not recorded; it is not sent again"
            )
        case .take:
            summary.reusedFromCheckpoint += 1
            switch stored.status {
            case .done: slot.outcome = .done(stored.texts)
            default: slot.outcome = .failed(stored.status, code: stored.errorCode ?? "unknown", message: stored.message ?? "")
            }
            if case .success(let mapped)? = remapped { slot.mapped = mapped }
        }
        return true
    }

    /// The keyed digest of a record's mapped values (its bytes when it does not map).
    func recordDigest(_ record: InputRecord, _ mapped: MappedRecord?) -> RecordDigest {
        // The parts straight into the hash (the digest of ``frameValues(_:_:)``'s buffer,
        // without the buffer).
        if let mapped { return digestKey.recordDigest(of: mapped.values) }
        return digestKey.recordDigest { parts in record.bytes.withUnsafeBytes { parts.append($0) } }
    }

    /// The digest of a record whose result goes to the checkpoint before its line is written
    /// (its tokens are stored, to be reused only for the record as it is): from its slot, which
    /// is in the window until its line is written. `nil` for a record no longer there.
    func digestOfUnwritten(_ seq: Int) -> RecordDigest? {
        slots.withSlot(seq) { slot in
            if slot.digestDeferred && slot.digest == nil { slot.digest = recordDigest(slot.record, slot.mapped) }
            return slot.digest
        } ?? nil
    }

    /// Puts in `digestScratch` what a record's digest is taken over: its mapped values' names and
    /// values, each framed with its length (its bytes when it does not map); for a stored digest
    /// of either version to be checked against (a resume). Kept there, not
    /// returned: a returned copy made the next record's `removeAll` allocate a new buffer.
    func frameValues(_ record: InputRecord, _ mapping: Result<MappedRecord, RecordError>) {
        // Framed in a local buffer (swapped out and back, so that it stays unique): every
        // `&digestScratch` of a class's property is a dynamic exclusivity check.
        var scratch: [UInt8] = []
        swap(&scratch, &digestScratch)
        defer { swap(&scratch, &digestScratch) }
        scratch.removeAll(keepingCapacity: true)
        switch mapping {
        case .success(let mapped):
            // Through each string's contiguous UTF-8: a short string's `utf8` view has no
            // contiguous storage to offer and was copied byte by byte.
            for value in mapped.values {
                var (name, text) = (value.name, value.value)
                name.withUTF8 { DigestKey.appendPart($0, to: &scratch) }
                text.withUTF8 { DigestKey.appendPart($0, to: &scratch) }
            }
        case .failure:
            DigestKey.appendPart(record.bytes, to: &scratch)
        }
    }
}
