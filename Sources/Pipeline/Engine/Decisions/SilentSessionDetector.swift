import NIOCore

/// Finds a half-open connection by comparing it with its peers, not only by a fixed timeout: a
/// session that has had requests in flight with no answer for longer than `max(floor, factor ×
/// the p99 round trip)` while another session answered within that time is silent, and is
/// abandoned (its requests go again on another connection). A service that slows down
/// everywhere slows every session alike: none is singled out, and the request timeout and the
/// heartbeat stay the last word. Pure: the time, the in-flight counts and the p99 are passed in.
struct SilentSessionDetector {
    /// The shortest silence that counts, whatever the round trip.
    let floor: Duration
    /// How many p99 round trips of silence count.
    let factor: Int64
    /// Answers to have seen before the p99 says anything.
    let minimumAnswers: UInt64

    /// Per session: since when it has waited with requests in flight and no answer (`nil`: idle),
    /// and when it last answered.
    private var waitingSince: [NIODeadline?]
    private var lastAnswer: [NIODeadline?]

    init(sessions: Int, floor: Duration = .seconds(1), factor: Int64 = 10, minimumAnswers: UInt64 = 100) {
        self.floor = floor
        self.factor = factor
        self.minimumAnswers = minimumAnswers
        waitingSince = Array(repeating: nil, count: sessions)
        lastAnswer = Array(repeating: nil, count: sessions)
    }

    /// Requests went out on `session`.
    mutating func sent(on session: Int, now: NIODeadline) {
        grow(to: session)
        if waitingSince[session] == nil { waitingSince[session] = now }
    }

    /// An answer came on `session`; `stillInFlight`: it has requests left to answer.
    mutating func answered(on session: Int, stillInFlight: Bool, now: NIODeadline) {
        grow(to: session)
        lastAnswer[session] = now
        waitingSince[session] = stillInFlight ? now : nil
    }

    /// The session's connection went down (or was abandoned): it starts over.
    mutating func reset(_ session: Int) {
        grow(to: session)
        waitingSince[session] = nil
        lastAnswer[session] = nil
    }

    /// The sessions to abandon now, with the silence that condemned them; `p99` is the round
    /// trip's 99th percentile in nanoseconds over `answers` answers.
    func silent(now: NIODeadline, p99: Int64, answers: UInt64) -> [(session: Int, silence: Duration)] {
        guard answers >= minimumAnswers else { return [] }
        let (scaled, overflow) = p99.multipliedReportingOverflow(by: factor)
        let limit = max(floor.nanoseconds, overflow ? .max : scaled)
        var found: [(Int, Duration)] = []
        for (session, since) in waitingSince.enumerated() {
            guard let since else { continue }
            let silence = (now - since).nanoseconds
            guard silence > limit else { continue }
            // Only when another session is answering: else the service is slow, not this connection.
            let othersAnswer = lastAnswer.enumerated().contains { other, last in
                other != session && last.map { (now - $0).nanoseconds <= limit } == true
            }
            if othersAnswer { found.append((session, .nanoseconds(silence))) }
        }
        return found
    }

    private mutating func grow(to session: Int) {
        while waitingSince.count <= session {
            waitingSince.append(nil)
            lastAnswer.append(nil)
        }
    }
}
