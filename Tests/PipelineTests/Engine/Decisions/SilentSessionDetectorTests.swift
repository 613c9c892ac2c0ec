import NIOCore
import Testing

@testable import Pipeline

/// A half-open connection is found by comparing it with its peers, on a virtual clock.
@Suite struct SilentSessionDetectorTests {
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    static func at(_ milliseconds: Int64) -> NIODeadline { start + .milliseconds(milliseconds) }
    static let p99: Int64 = 20_000_000  // 20 ms: ten of them are under the 1 s floor

    @Test func aSessionSilentWhileAnotherAnswersIsFound() {
        var detector = SilentSessionDetector(sessions: 2)
        detector.sent(on: 0, now: Self.at(0))
        detector.sent(on: 1, now: Self.at(0))
        // Session 1 answers all along; session 0 never does.
        for time in stride(from: 10, through: 1_500, by: 10) {
            detector.answered(on: 1, stillInFlight: true, now: Self.at(Int64(time)))
        }
        #expect(detector.silent(now: Self.at(900), p99: Self.p99, answers: 500).isEmpty, "not before the floor")
        let found = detector.silent(now: Self.at(1_500), p99: Self.p99, answers: 500)
        #expect(found.map(\.session) == [0])
        #expect(found.first.map { $0.silence >= .seconds(1) } == true)
        // Reset (abandoned), it starts over.
        detector.reset(0)
        #expect(detector.silent(now: Self.at(1_500), p99: Self.p99, answers: 500).isEmpty)
    }

    /// Every session slow alike: the service is slow, no connection is singled out.
    @Test func aServiceSlowEverywhereSinglesOutNone() {
        var detector = SilentSessionDetector(sessions: 3)
        for session in 0..<3 { detector.sent(on: session, now: Self.at(0)) }
        #expect(detector.silent(now: Self.at(30_000), p99: Self.p99, answers: 500).isEmpty)
    }

    /// The limit follows the round trip: ten p99s when that is above the floor.
    @Test func theLimitIsTenP99sAboveTheFloor() {
        var detector = SilentSessionDetector(sessions: 2)
        detector.sent(on: 0, now: Self.at(0))
        detector.sent(on: 1, now: Self.at(0))
        let p99: Int64 = 400_000_000  // 400 ms → 4 s
        detector.answered(on: 1, stillInFlight: true, now: Self.at(3_900))
        #expect(detector.silent(now: Self.at(3_950), p99: p99, answers: 500).isEmpty)
        detector.answered(on: 1, stillInFlight: true, now: Self.at(4_050))
        #expect(detector.silent(now: Self.at(4_100), p99: p99, answers: 500).map(\.session) == [0])
    }

    /// An idle session is never silent; one that answers is judged from its last answer; too few
    /// answers say nothing; a p99 near Int64.max does not trap.
    @Test func idleAnsweringAndEarlySessionsAreLeftAlone() {
        var detector = SilentSessionDetector(sessions: 2)
        detector.sent(on: 0, now: Self.at(0))
        detector.answered(on: 0, stillInFlight: false, now: Self.at(5))
        detector.sent(on: 1, now: Self.at(0))
        detector.answered(on: 1, stillInFlight: true, now: Self.at(4_000))
        #expect(detector.silent(now: Self.at(4_500), p99: Self.p99, answers: 500).isEmpty, "0 is idle, 1 answered 0.5 s ago")
        detector.sent(on: 0, now: Self.at(4_600))
        #expect(detector.silent(now: Self.at(6_000), p99: Self.p99, answers: 50).isEmpty, "too few answers to judge")
        #expect(detector.silent(now: Self.at(6_000), p99: .max / 2, answers: 500).isEmpty)
        // Sessions beyond the first count are taken as they come (connections added as the window grows).
        detector.sent(on: 5, now: Self.at(0))
        detector.answered(on: 0, stillInFlight: true, now: Self.at(6_000))
        #expect(detector.silent(now: Self.at(6_000), p99: Self.p99, answers: 500).map(\.session) == [1, 5])
    }
}
