import Checkpoint
import NIOCore
import ShieldConex

extension Engine {
    /// One round of dispatching: what the planner lets go now leaves with one write and one
    /// flush per connection.
    func dispatch() {
        let plan = planner.plan(now: .now(), pool: &pool, undurable: stage.undurable)
        if plan.flushFirst { watch(stage.submit()) }
        if let wait = plan.wakeAfter {
            loop.scheduleTask(in: wait) { [self] in
                planner.woke()
                pump()
            }
        }
        guard !plan.sends.isEmpty else { return }
        for send in plan.sends {
            window[send.seq]!.attempts += 1
            summary.requestsSent += 1
            if window[send.seq]!.isRetry {
                summary.retries += 1
                window[send.seq]!.isRetry = false
            }
        }
        guard plan.durableBeforeSending else {
            send(plan.sends)
            return
        }
        // A read must never go out twice: its going out is durable before it goes.
        for send in plan.sends {
            stage.record(RecordResult(seq: send.seq, status: .sent, attempts: window[send.seq]!.attempts))
        }
        let generations = plan.sends.map { pool.sessions[$0.session].generation }
        stage.submit().whenComplete { [self] result in
            // The job ended meanwhile (its connections are closing): these reads never left, and
            // the next run finds them recorded as sent (outcome unknown), as after a kill.
            guard !finishing else { return }
            if case .failure(let error) = result {
                if failure == nil { failure = error }
                schedulePump()
                return
            }
            var ready: [DispatchPlanner.Send] = []
            for (send, generation) in zip(plan.sends, generations) {
                if pool.sessions[send.session].generation == generation && pool.sessions[send.session].state == .up {
                    ready.append(send)
                } else {
                    // Its connection went down before it left: it was never sent, so it may go.
                    planner.enqueue(send.seq)
                }
            }
            send(ready)
            schedulePump()
        }
    }

    /// Sends the requests of `sends`, grouped by connection, each with one write and one flush.
    func send(_ sends: [DispatchPlanner.Send]) {
        guard !sends.isEmpty else { return }
        let now = NIODeadline.now()
        var bySession: [[Int]] = Array(repeating: [], count: connections.count)
        for send in sends { bySession[send.session].append(send.seq) }
        for (session, seqs) in bySession.enumerated() where !seqs.isEmpty {
            let generation = pool.sessions[session].generation
            guard let connection = connections[session], let receiver = receivers[session] else {
                // The session went down between choosing it and sending: the requests are lost.
                for seq in seqs { answered(seq: seq, session: session, generation: generation, .failure(ShieldConexError.connectionClosed)) }
                continue
            }
            var requests: [Request] = []
            requests.reserveCapacity(seqs.count)
            for seq in seqs {
                requests.append(request(for: seq))
                window[seq]!.sentAt = now
            }
            // Answers come back through the session's receiver, tagged with their seq: no
            // promise and no callback allocated per request.
            connection.send(requests, tags: seqs, to: receiver)
        }
    }

    /// `PREFIX` + the seq (+ `.` + the group after the first), made in one allocation: appending
    /// to a copy of the prefix copied it, then grew it.
    static func reference(prefix: String, seq: Int, group: Int) -> String {
        var prefix = prefix
        var digits: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)  // 48 bytes: two 20-digit numbers and a dot
        return withUnsafeMutableBytes(of: &digits) { scratch in
            var length = appendDecimal(seq, to: scratch, at: 0)
            if group > 0 {
                scratch[length] = UInt8(ascii: ".")
                length = appendDecimal(group, to: scratch, at: length + 1)
            }
            let tail = UnsafeRawBufferPointer(rebasing: scratch[..<length])
            return prefix.withUTF8 { head in
                String(unsafeUninitializedCapacity: head.count + length) { buffer in
                    let target = UnsafeMutableRawBufferPointer(buffer)
                    target.copyMemory(from: UnsafeRawBufferPointer(head))
                    UnsafeMutableRawBufferPointer(rebasing: target[head.count...]).copyMemory(from: tail)
                    return head.count + length
                }
            }
        }
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

    /// The request of a record's next (or only) group.
    func request(for seq: Int) -> Request {
        let (group, values, bfid) = window.withSlot(seq) { slot in (slot.group, slot.requestValues, slot.requestBfid) }!
        let reference = Self.reference(prefix: referencePrefix, seq: seq, group: group)
        switch action {
        case .tokenize:
            return .tokenize(
                templateRef: configuration.templateRef, values: values, omit: configuration.omit, store: configuration.store, reference: reference
            )
        case .detokenize:
            return .detokenize(bfid: bfid!, values: values, reference: reference)
        case .read:
            return .read(bfid: bfid!, reference: reference)
        }
    }
}
