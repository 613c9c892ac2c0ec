import Checkpoint
import NIOCore
import ShieldConex

extension Engine {
    /// Ends the job: commits what is finished, closes the connections, and completes the run's
    /// promise once the checkpoint stage has carried out the last batch.
    func finish() {
        guard let ending = lifecycle.end(windowEmpty: slots.isEmpty, commitFrozen: commits.frozen) else { return }
        timer?.cancel()
        let outcome: Result<JobSummary, any Error>
        let last: EventLoopFuture<Void>
        switch ending {
        case .broken(let error):
            closeAll()
            promise.fail(error)
            return
        case .fatal(var error):
            last = commit()
            error.summary = finishedSummary()
            outcome = .failure(error)
        case .interrupted:
            giveUpWaitingRetries()
            do { try drain() } catch { failWith(error); return }
            summary = finishedSummary()
            last = commit()
            let abandoned = pool.inFlight
            var error = JobError(
                .interrupted,
                "interrupted: \((stage.commitPoint?.seq ?? -1) + 1) records are finished and committed"
                    + (abandoned > 0 ? "; \(abandoned) requests in flight were abandoned" : "")
                    + (summary.transient > 0 ? "; \(summary.transient) waiting to be retried are in the rejects file as transient" : "")
            )
            error.summary = summary
            outcome = .failure(error)
        case .finished(let transientLeft):
            summary = finishedSummary()
            last = commit(complete: !transientLeft)
            if transientLeft {
                var error = JobError(
                    .transient,
                    "\(summary.transient) records were still failing for a transient reason (throttling, server errors, lost "
                        + "connections) when their retry budget (--retry-for) ran out; they are in the rejects file as transient"
                )
                error.summary = summary
                outcome = .failure(error)
            } else {
                outcome = .success(summary)
            }
        }
        closeAll()
        last.whenComplete { [self] written in
            switch written {
            case .success: promise.completeWith(outcome)
            case .failure(let error): promise.fail(error)
            }
        }
    }

    private func failWith(_ error: any Error) {
        closeAll()
        promise.fail(error)
    }

    /// At a stop, records waiting out a retry backoff become transient rejects: written in
    /// order with the rest, and sent again by the next run.
    func giveUpWaitingRetries() {
        for seq in slots.seqs where slots[seq]!.waitingToRetry && slots[seq]!.outcome == nil {
            let message = "transient: the run stopped while the record waited to be retried; the next run of the same command sends it again"
            let attempts = slots[seq]!.attempts
            stage.record(RecordResult(seq: seq, status: .transient, errorCode: "transient", message: message, attempts: attempts))
            slots[seq]!.outcome = .failed(.transient, code: "transient", message: message)
            slots[seq]!.waitingToRetry = false
            releaseRepeats(of: seq, nil)
        }
    }

    func closeAll() {
        // The receivers hold the engine (answers may still come while connections close);
        // the engine lets go of them, so that nothing holds it once they are gone.
        for handle in pool.takeHandles() {
            handle.connection.startClosing()
        }
        source.close()
    }

    var elapsedSeconds: Double { Double((loop.now - started).nanoseconds) / 1e9 }

    /// The summary with the figures that are only known at the end.
    func finishedSummary() -> JobSummary {
        var finished = summary
        finished.finishedBefore = finishedBefore
        finished.unfinished = slots.count
        finished.reconnects = pool.reconnects
        finished.latency = latency.summary
        finished.lowestRate = planner.aimd.lowest
        finished.window = windowSummary
        finished.seconds = elapsedSeconds
        return finished
    }

    /// What the progress display shows.
    func progress() -> JobProgress {
        var progress = JobProgress()
        // A shard counts its own records, from its first.
        let first = configuration.shard?.firstSeq ?? 0
        progress.finished = slots.nextToWrite - first
        progress.finishedBefore = finishedBefore
        let position = source.position
        if let shard = configuration.shard {
            progress.total = shard.records
            // (A table's range holds the rows it held when the plan was made, give or take.)
            progress.totalIsEstimate = configuration.tablePlan != nil
        } else if lifecycle.sourceEnded {
            progress.total = position.seq
            progress.totalIsEstimate = false
        } else {
            // A compressed input: its whole inflates in the proportion read so far.
            let size = source.compressedPosition.map { $0 > 0 ? Int64(Double(inputSize) * Double(position.offset) / Double($0)) : 0 } ?? inputSize
            progress.total = JobProgress.estimateTotal(records: position.seq, bytesRead: position.offset, fileSize: size)
        }
        progress.inFlight = pool.inFlight
        progress.window = controller.window
        progress.windowReason = controller.reason.rawValue
        progress.connections = pool.upCount
        progress.errors = summary.rejected + summary.outcomeUnknown + summary.transient
        progress.retries = summary.retries
        progress.reconnects = pool.reconnects
        progress.seconds = elapsedSeconds
        return progress
    }
}
