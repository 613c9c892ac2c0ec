import Checkpoint
import NIOCore
import ShieldConex

extension Engine {
    /// One round of dispatching: what the planner lets go now leaves with one write and one
    /// flush per connection.
    func dispatch() {
        let plan = planner.plan(
            now: loop.now, pool: &pool, unflushed: stage.unflushed, inWriter: stage.resultsInWriter, writerBusy: stage.isBusy
        )
        if plan.flushFirst { watch(stage.submit()) }
        if plan.windowFull { controller.heldBack(now: loop.now) } else { controller.notHeldBack() }
        if let wait = plan.wakeAfter {
            loop.scheduleTask(in: wait) { [self] in handle(.plannerWoke) }
        }
        guard !plan.sends.isEmpty else { return }
        for send in plan.sends {
            slots[send.seq]!.attempts += 1
            summary.requestsSent += 1
            if slots[send.seq]!.isRetry {
                summary.retries += 1
                slots[send.seq]!.isRetry = false
            }
        }
        guard plan.durableBeforeSending else {
            send(plan.sends)
            return
        }
        // A read must never go out twice: its going out is durable before it goes.
        for send in plan.sends {
            stage.record(RecordResult(seq: send.seq, status: .sent, attempts: slots[send.seq]!.attempts))
        }
        let generations = plan.sends.map { pool.sessions[$0.session].generation }
        stage.submit().whenComplete { [self] result in handle(.readsStored(sends: plan.sends, generations: generations, result)) }
    }

    /// Reads recorded as sent are durable (or the disk failed): those whose connection is still
    /// the one they were planned for leave; the others were never sent, and may go again.
    func readsStored(_ sends: [DispatchPlanner.Send], generations: [Int], _ result: Result<Void, any Error>) {
        // The job ended meanwhile (its connections are closing): these reads never left, and
        // the next run finds them recorded as sent (outcome unknown), as after a kill.
        guard !lifecycle.isEnded else { return }
        if case .failure(let error) = result {
            lifecycle.breakDown(error)
            return
        }
        var ready: [DispatchPlanner.Send] = []
        for (send, generation) in zip(sends, generations) {
            if pool.sessions[send.session].generation == generation && pool.sessions[send.session].state == .up {
                ready.append(send)
            } else {
                // Its connection went down before it left: it was never sent, so it may go.
                planner.enqueue(send.seq)
            }
        }
        send(ready)
    }

    /// Sends the requests of `sends`, grouped by connection, each with one write and one flush.
    func send(_ sends: [DispatchPlanner.Send]) {
        guard !sends.isEmpty else { return }
        let now = loop.now
        // The seqs of each session, in arrays kept from round to round (swapped out and back).
        var bySession: [[Int]] = []
        swap(&bySession, &sendGroups)
        defer { swap(&bySession, &sendGroups) }
        if bySession.count != pool.sessions.count { bySession = Array(repeating: [], count: pool.sessions.count) }
        for index in bySession.indices { bySession[index].removeAll(keepingCapacity: true) }
        for send in sends { bySession[send.session].append(send.seq) }
        for (session, seqs) in bySession.enumerated() where !seqs.isEmpty {
            let generation = pool.sessions[session].generation
            guard let handle = pool.handle(session) else {
                // The session went down between choosing it and sending: the requests are lost.
                for seq in seqs { answered(seq: seq, session: session, generation: generation, .failure(ShieldConexError.connectionClosed)) }
                continue
            }
            // Each request written as JSON straight from its slot (no `Request`, no `String` for
            // its reference); one that the shape refuses is answered with that failure.
            var bodies = EncodedRequests(reservingCapacity: seqs.count, bytesEach: 256)
            var tags: [Int] = []
            tags.reserveCapacity(seqs.count)
            for seq in seqs {
                do {
                    try slots.withSlot(seq) { slot throws(ShieldConexError) in
                        // What the request needs, taken out first: the slot captured by the
                        // closure below was copied whole. A read sends no values, a tokenize no
                        // bfid; a retokenize record sends its detokenize, then its plaintext's tokenize.
                        let phase2 = slot.plaintext != nil
                        let (group, bfid, values) = (
                            slot.group, action == .tokenize || phase2 ? nil : slot.requestBfid, action == .read ? nil : slot.requestValues
                        )
                        try Self.withReference(prefix: referencePrefix, seq: seq, group: group) { reference throws(ShieldConexError) in
                            // (The stored shapes used in place: a local copy of one cost retains per request.)
                            if phase2 {
                                try tokenizeShape!.append(reference: reference, bfid: bfid, values: values, to: &bodies)
                            } else {
                                try shape.append(reference: reference, bfid: bfid, values: values, to: &bodies)
                            }
                        }
                        slot.sentAt = now
                    }
                    tags.append(seq)
                } catch {
                    handle.receiver.received(.failure(error), tag: seq)
                }
            }
            // Answers come back through the session's receiver, tagged with their seq: no
            // promise and no callback allocated per request.
            handle.connection.send(bodies, tags: tags, to: handle.receiver)
            if !tags.isEmpty { silence.sent(on: session, now: now) }
        }
    }

    /// The constant part of the job's requests (of `action`'s: a retokenize job's are a
    /// detokenize's, then a tokenize's).
    static func shape(of configuration: BatchJob.Configuration, action: JobAction? = nil) -> RequestShape {
        switch action ?? configuration.action {
        case .tokenize:
            RequestShape(
                action: .tokenize, templateRef: configuration.templateRef, omit: configuration.omit, store: configuration.store,
                fieldNames: configuration.instructions.map(\.fieldName)
            )
        case .detokenize, .retokenize:
            RequestShape(action: .detokenize, fieldNames: configuration.instructions.map(\.fieldName))
        case .read:
            RequestShape(action: .read)
        }
    }

    /// Calls `body` with `PREFIX` + the seq (+ `.` + the group after the first), written on the
    /// stack: no `String` per request.
    static func withReference<T, E: Error>(
        prefix: [UInt8], seq: Int, group: Int, _ body: (UnsafeRawBufferPointer) throws(E) -> T
    ) throws(E) -> T {
        // Two 20-digit numbers and a dot after the prefix.
        let result: Result<T, E> = withUnsafeTemporaryAllocation(byteCount: prefix.count + 48, alignment: 1) { scratch in
            prefix.withUnsafeBytes { scratch.copyMemory(from: $0) }
            var length = appendDecimal(seq, to: scratch, at: prefix.count)
            if group > 0 {
                scratch[length] = UInt8(ascii: ".")
                length = appendDecimal(group, to: scratch, at: length + 1)
            }
            do throws(E) {
                return .success(try body(UnsafeRawBufferPointer(rebasing: scratch[..<length])))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Writes `number`'s decimal digits at `start`; returns where they end.
    private static func appendDecimal(_ number: Int, to scratch: UnsafeMutableRawBufferPointer, at start: Int) -> Int {
        var value = number.magnitude
        var end = start
        repeat {
            scratch[end] = UInt8(ascii: "0") + UInt8(value % 10)
            value /= 10
            end += 1
        } while value > 0
        var (low, high) = (start, end - 1)
        while low < high {
            scratch.swapAt(low, high)
            low += 1
            high -= 1
        }
        return end
    }
}
