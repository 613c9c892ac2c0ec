import NIOCore
@testable import Pipeline
import Testing

@Suite struct EngineLifecycleTests {
    @Test func aJobThatReadsEverythingEndsFinishedOnceItsWindowIsEmpty() {
        var lifecycle = EngineLifecycle()
        #expect(lifecycle.mayDispatch)
        lifecycle.sourceDidEnd()
        #expect(!lifecycle.isOver(windowEmpty: false, inFlight: 3))
        #expect(lifecycle.isOver(windowEmpty: true, inFlight: 0))
        guard case .finished(let transientLeft)? = lifecycle.end(windowEmpty: true, commitFrozen: false) else { Issue.record("not finished"); return }
        #expect(!transientLeft)
        #expect(lifecycle.isEnded && !lifecycle.isOver(windowEmpty: true, inFlight: 0))
        let again = lifecycle.end(windowEmpty: true, commitFrozen: false)
        #expect(again == nil, "it ends once")
    }

    @Test func aFrozenCommitPointEndsAsTransient() {
        var lifecycle = EngineLifecycle()
        lifecycle.sourceDidEnd()
        guard case .finished(true)? = lifecycle.end(windowEmpty: true, commitFrozen: true) else { Issue.record("not transient"); return }
    }

    @Test func aStopWaitsForTheRequestsInFlightOrTheDeadline() {
        var lifecycle = EngineLifecycle()
        let first = lifecycle.stopRequested()
        let again = lifecycle.stopRequested()
        #expect(first && !again, "a second stop changes nothing")
        #expect(!lifecycle.mayDispatch && lifecycle.isStopping)
        #expect(!lifecycle.isOver(windowEmpty: false, inFlight: 2))
        #expect(lifecycle.isOver(windowEmpty: false, inFlight: 0))
        lifecycle.stopDeadlinePassed()
        #expect(lifecycle.isOver(windowEmpty: false, inFlight: 2))
        guard case .interrupted? = lifecycle.end(windowEmpty: false, commitFrozen: false) else { Issue.record("not interrupted"); return }
    }

    @Test func aStopAfterEverythingIsFinishedIsACompleteJob() {
        var lifecycle = EngineLifecycle()
        lifecycle.sourceDidEnd()
        _ = lifecycle.stopRequested()
        guard case .finished(false)? = lifecycle.end(windowEmpty: true, commitFrozen: false) else { Issue.record("not finished"); return }
    }

    @Test func theFirstFatalReasonWinsAndABrokenDiskWinsOverIt() {
        var lifecycle = EngineLifecycle()
        lifecycle.failFatally(JobError(.fatalAnswer, "first"))
        lifecycle.failFatally(JobError(.connection, "second"))
        #expect(!lifecycle.mayDispatch && lifecycle.isOver(windowEmpty: false, inFlight: 5))
        var broken = lifecycle
        guard case .fatal(let error)? = lifecycle.end(windowEmpty: false, commitFrozen: false) else { Issue.record("not fatal"); return }
        #expect(error.message == "first")
        broken.breakDown(JobError(.configuration, "disk"))
        guard case .broken? = broken.end(windowEmpty: false, commitFrozen: false) else { Issue.record("not broken"); return }
        let stopped = lifecycle.stopRequested()
        #expect(!stopped, "an ended job does not stop")
    }
}

@Suite struct CommitScheduleTests {
    @Test func commitsEveryNLinesOrEveryInterval() {
        let start = NIODeadline.uptimeNanoseconds(0)
        var schedule = CommitSchedule(every: 3, interval: .milliseconds(500), now: start)
        let byCount = (0..<3).map { _ in schedule.wrote(now: start) }
        #expect(byCount == [.none, .none, .commit])
        schedule.committed(now: start)
        let byTime = [schedule.wrote(now: start + .milliseconds(499)), schedule.wrote(now: start + .milliseconds(500))]
        #expect(byTime == [.none, .commit])
    }

    @Test func theFirstTransientLineCommitsWhatIsBeforeItAndFreezes() {
        let start = NIODeadline.uptimeNanoseconds(0)
        var schedule = CommitSchedule(every: 100, interval: .seconds(1), now: start)
        let steps = [schedule.willWrite(transient: false), schedule.willWrite(transient: true)]
        #expect(steps == [.none, .commit])
        #expect(schedule.frozen)
        let later = schedule.willWrite(transient: true)
        #expect(later == .none, "only the first")
    }
}
