import Foundation
import NIOCore
import Pipeline
import Testing

/// The window's controller driven through its states with made-up answers and a made-up clock:
/// it grows while the window is full at the latency floor, shrinks when latency climbs or the
/// service throttles, holds otherwise, and stays within its bounds.
struct ConcurrencyControllerTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    /// A service seen from the client: each answer takes `roundTrip(window)` and a share of them
    /// are throttled. Runs `seconds` of answers, a window's worth per round trip with the window
    /// in flight, telling the controller the window was full when `full(window)`; returns the
    /// windows it chose.
    @discardableResult
    func drive(
        _ controller: inout ConcurrencyController, from: NIODeadline? = nil, seconds: Double,
        roundTrip: (Int) -> Int64, throttled: (Int) -> Double = { _ in 0 }, full: (Int) -> Bool = { _ in true }
    ) -> [Int] {
        var now = from ?? start
        let end = now + .nanoseconds(Int64(seconds * 1e9))
        var windows = [controller.window]
        var counter = 0.0
        while now < end {
            let window = controller.window
            let trip = roundTrip(window)
            // A window's answers spread over one round trip.
            let step = TimeAmount.nanoseconds(max(1, trip / Int64(window)))
            for _ in 0..<window {
                now = now + step
                counter += throttled(window)
                let congestion = counter >= 1
                if congestion { counter -= 1 }
                if full(window) { controller.heldBack(now: now) }
                if controller.answered(
                    roundTrip: congestion ? 1_000_000 : trip, inFlight: window, now: now, congestion: congestion
                ) {
                    windows.append(controller.window)
                    break
                }
            }
        }
        return windows
    }

    func settings(start: Int = 256, ceiling: Int = 4096, fixed: Bool = false) -> ConcurrencyController.Settings {
        .init(start: start, ceiling: ceiling, minimum: 16, fixed: fixed)
    }

    /// An event simulation of a service `seconds` long: every request in flight comes back when
    /// `answer(sentAt)` says (nanoseconds from the start), and is replaced at once while the
    /// window allows (the window is always full: it holds the next record back). Returns the
    /// windows the controller chose, each with when.
    @discardableResult
    func simulate(
        _ controller: inout ConcurrencyController, seconds: Double, answer: (Int64) -> Int64
    ) -> [(at: Int64, window: Int)] {
        var pending = MinHeap()
        for _ in 0..<controller.window { pending.push(answer(0), sent: 0) }
        var windows: [(at: Int64, window: Int)] = [(0, controller.window)]
        controller.heldBack(now: start)
        while let due = pending.first, due < Int64(seconds * 1e9) {
            let request = pending.pop()
            let now = start + .nanoseconds(request.due)
            controller.heldBack(now: now)
            if controller.answered(roundTrip: request.due - request.sent, inFlight: pending.count + 1, now: now, congestion: false) {
                windows.append((request.due, controller.window))
            }
            while pending.count < controller.window { pending.push(answer(request.due), sent: request.due) }
        }
        return windows
    }

    /// Slow start as TCP's: one more for each answer while the window is full, so it doubles
    /// every round trip, continuously: 100 ms away with no queue anywhere, 256 to 4,096 (four
    /// doublings) within five round trips of the start.
    @Test func aFullWindowAtAFlatRoundTripGrowsToTheCeilingInARoundTripPerDoubling() {
        var controller = ConcurrencyController(settings: settings(), now: start)
        let windows = simulate(&controller, seconds: 10, answer: { $0 + 100_000_000 })
        let reached = windows.first { $0.window == 4096 }
        #expect(reached != nil && reached!.at <= 500_000_000, "\(windows.map(\.window))")
        #expect(controller.window == 4096)
        #expect(controller.reason == .growing)
        #expect(controller.peak == 4096)
        #expect(controller.floor! >= 99_000_000 && controller.floor! < 101_000_000)
    }

    /// A service that takes 20,000 requests a second 100 ms away: up to 2,000 in flight cost
    /// nothing, beyond that each request waits in its queue. Slow start ends when the shortest
    /// round trip rises (HyStart++), not at the ceiling (an answer says what the queue was a
    /// round trip ago, and the window doubles in that time: it overshoots the knee up to
    /// fourfold), and the window comes back to where the queue is short.
    @Test func aQueueEndsSlowStartNearTheKnee() {
        var controller = ConcurrencyController(settings: settings(ceiling: 16_384), now: start)
        var busyUntil: Int64 = 0
        let windows = simulate(&controller, seconds: 10, answer: { sent in
            // 50 ms out, served one at a time at 20,000/s, 50 ms back.
            busyUntil = max(busyUntil, sent + 50_000_000) + 50_000
            return busyUntil + 50_000_000
        })
        #expect(!controller.slowStart)
        let trace = windows.map { "\($0.at / 1_000_000) ms: \($0.window)" }
        #expect(controller.peak <= 8192, "\(trace)")
        // The round trip within half its floor and the slack: at most 3,100 in flight.
        #expect(controller.window >= 1800 && controller.window <= 3100, "\(trace)")
    }

    /// The first interval starts when the first window is out (the window first held a record
    /// back), not at the first answer: 100 ms away, the first window's answers are enough to
    /// learn the floor, a round trip after the start.
    @Test func theFirstIntervalStartsWhenTheFirstWindowIsOut() {
        var controller = ConcurrencyController(settings: settings(), now: start)
        controller.heldBack(now: start)
        for index in 0..<256 {
            // The first window's answers after 100 ms, spread over a millisecond.
            let now = start + .nanoseconds(100_000_000 + Int64(index) * 4_000)
            controller.heldBack(now: now)
            _ = controller.answered(roundTrip: 100_000_000, inFlight: 256 - index, now: now, congestion: false)
        }
        #expect(controller.floor != nil)
        #expect(controller.floor! >= 50_000_000 && controller.floor! < 102_000_000, "\(controller.floor!)")
        #expect(controller.window > 256 && controller.slowStart)
    }

    /// A read burst's answers all count while the window is full (it held a record back at the
    /// last dispatch and is refilled after the burst), as TCP counts every ACK while the
    /// congestion window limits; once a dispatch leaves it not full, answers do not grow it.
    @Test func everyAnswerOfABurstGrowsAFullWindow() {
        var controller = ConcurrencyController(settings: settings(), now: start)
        controller.heldBack(now: start)
        let now = start + .milliseconds(100)
        for _ in 0..<256 { _ = controller.answered(roundTrip: 100_000_000, inFlight: 256, now: now, congestion: false) }
        #expect(controller.window >= 480 && controller.window <= 512, "\(controller.window)")
        controller.notHeldBack()
        let grown = controller.window
        for _ in 0..<256 {
            _ = controller.answered(roundTrip: 100_000_000, inFlight: 256, now: now + .milliseconds(100), congestion: false)
        }
        #expect(controller.window == grown)
    }

    @Test func aWindowThatIsNotFullDoesNotGrow() {
        var controller = ConcurrencyController(settings: settings(), now: start)
        drive(&controller, seconds: 5, roundTrip: { _ in 100_000_000 }, full: { _ in false })
        #expect(controller.window == 256)
        #expect(controller.reason == .start)
        #expect(controller.changes.isEmpty)
    }

    @Test func aServiceWithACapacityIsFoundWithoutAStandingQueue() {
        // 100 ms of network, then a service that takes 2,000 requests/s: up to 200 in flight
        // cost nothing; beyond that each one waits for the queue (Little's law).
        let capacity = 2_000.0
        let base: Int64 = 100_000_000
        func roundTrip(_ window: Int) -> Int64 {
            let queued = max(0, Double(window) - capacity * 0.1)
            return base + Int64(queued / capacity * 1e9)
        }
        var controller = ConcurrencyController(settings: settings(start: 64), now: start)
        drive(&controller, seconds: 30, roundTrip: roundTrip)
        // Near what the service takes (200), with at most a short queue: the round trip stays
        // within half its floor plus the slack, and the window never sat at the ceiling.
        #expect(controller.window >= 180, "window \(controller.window)")
        #expect(roundTrip(controller.window) <= base * 3 / 2 + 5_000_000, "window \(controller.window)")
        #expect(controller.peak < 4096)
    }

    @Test func latencyThatClimbsShrinksTheWindowInProportion() {
        var controller = ConcurrencyController(settings: settings(start: 1024), now: start)
        // The floor is learned at 100 ms (1,024 in flight, 10,240 answers a second) ...
        var now = start
        for _ in 0..<1100 {
            now = now + .nanoseconds(100_000_000 / 1024)
            _ = controller.answered(roundTrip: 100_000_000, inFlight: 1024, now: now, congestion: false)
        }
        #expect(controller.window == 1024)
        #expect(controller.floor! > 99_000_000 && controller.floor! < 101_000_000)
        // ... then the service slows to 400 ms (a quarter of the answers a second): the window
        // comes down to what the floor's tolerance allows at that round trip, and never by more
        // than half at once.
        var changed = false
        for _ in 0..<2048 where !changed {
            now = now + .nanoseconds(400_000_000 / 1024)
            changed = controller.answered(roundTrip: 400_000_000, inFlight: 1024, now: now, congestion: false)
        }
        #expect(changed)
        #expect(controller.reason == .latency)
        #expect(controller.window == 512)
        #expect(!controller.slowStart)
    }

    /// The first answers after a start are the fast ones (the slow ones are still out): with
    /// round trips spread exponentially around 100 ms, the median of the first answers is far
    /// below the true one, and a floor taken from it reads every later interval as a queue.
    /// Little's law counts the answers per second instead: the window grows to the ceiling.
    @Test func aLongTailedRoundTripIsNotReadAsAQueue() {
        var controller = ConcurrencyController(settings: settings(), now: start)
        var seed: UInt64 = 11
        func exponential() -> Double {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return -log(Double((seed >> 11) + 1) / Double(1 << 53))
        }
        // An event simulation: every request in flight comes back after 100 ms × Exp(1), and is
        // replaced at once while the window allows (the window is always full).
        var pending = MinHeap()
        for _ in 0..<256 { pending.push(Int64(exponential() * 1e8), sent: 0) }
        var clock: Int64 = 0
        var windows: [Int] = [256]
        // The first window is out at once, and holds the next record back.
        controller.heldBack(now: start)
        while clock < 10_000_000_000 {
            let answer = pending.pop()
            clock = answer.due
            controller.heldBack(now: start + .nanoseconds(clock))
            // Each answer with its own round trip (the first ones back are the fast ones).
            if controller.answered(
                roundTrip: answer.due - answer.sent, inFlight: pending.count + 1, now: start + .nanoseconds(clock), congestion: false
            ) {
                windows.append(controller.window)
            }
            while pending.count < controller.window { pending.push(clock + Int64(exponential() * 1e8), sent: clock) }
        }
        #expect(controller.window == 4096, "windows \(windows)")
        #expect(controller.changes[.latency] == nil, "windows \(windows)")
    }

    @Test func throttlingCutsTheWindowByTheShareRefusedAndStopsTheGrowth() throws {
        var controller = ConcurrencyController(settings: settings(start: 512), now: start)
        // A fifth of the answers throttled (51 of the interval's 256): the window loses that
        // share and a tenth more.
        // (The window is not full: slow start's growth does not come first.)
        let windows = drive(&controller, seconds: 0.3, roundTrip: { _ in 100_000_000 }, throttled: { _ in 0.2 }, full: { _ in false })
        #expect(windows.count >= 2)
        #expect(windows[1] == Int(512.0 * (1 - 51.0 / 256) * 0.9))
        #expect(controller.reason == .throttled)
        #expect(!controller.slowStart)
        // One throttled answer in a few hundred is noise: with the window full, it grows again,
        // by a sixteenth (slow start is over).
        let before = controller.window
        let next = drive(&controller, from: start + .seconds(10), seconds: 1, roundTrip: { _ in 100_000_000 }, throttled: { _ in 0.001 })
        try #require(next.count >= 2, "\(windows) \(next)")
        #expect(next[1] == before + before / 16)
    }

    @Test func theWindowStaysWithinItsMinimumAndCeiling() {
        var controller = ConcurrencyController(settings: .init(start: 64, ceiling: 300, minimum: 16), now: start)
        drive(&controller, seconds: 10, roundTrip: { _ in 50_000_000 })
        #expect(controller.window == 300)
        // Everything throttled from now on: down to the minimum, never below.
        drive(&controller, from: start + .seconds(20), seconds: 20, roundTrip: { _ in 50_000_000 }, throttled: { _ in 1 })
        #expect(controller.window == 16)
    }

    @Test func afterAChangeTheAnswersOfTheOldWindowDoNotCount() {
        var controller = ConcurrencyController(settings: settings(start: 64), now: start)
        var now = start
        var changed = false
        var index = 0
        // A fifth of the answers throttled: the window is cut.
        while !changed {
            now = now + .milliseconds(1)
            index += 1
            changed = controller.answered(roundTrip: 100_000_000, inFlight: 64, now: now, congestion: index % 5 == 0)
        }
        #expect(controller.reason == .throttled)
        let cut = controller.window
        #expect(cut < 64)
        // While the change settles, even a flood of slow answers changes nothing: they
        // were sent under the old window.
        var changes = 0
        for offset in 1...1000 where controller.answered(
            roundTrip: 900_000_000, inFlight: 128, now: now + .microseconds(Int64(offset) * 60), congestion: false
        ) {
            changes += 1
        }
        #expect(changes == 0 && controller.window == cut)
    }

    @Test func aFixedWindowNeverMoves() {
        var controller = ConcurrencyController(settings: settings(fixed: true), now: start)
        drive(&controller, seconds: 5, roundTrip: { _ in 100_000_000 })
        drive(&controller, from: start + .seconds(10), seconds: 5, roundTrip: { _ in 100_000_000 }, throttled: { _ in 0.5 })
        #expect(controller.window == 256)
        #expect(controller.reason == .fixed)
        #expect(controller.changes.isEmpty)
    }

    @Test func noisyLoopbackRoundTripsAreNotReadAsAQueue() {
        // A millisecond or two of the client's own batching, jittering: within the slack, so
        // the window neither collapses nor creeps up when it is not full.
        var controller = ConcurrencyController(settings: settings(), now: start)
        var seed: UInt64 = 7
        drive(&controller, seconds: 5, roundTrip: { _ in
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return 1_000_000 + Int64(seed >> 44) % 3_000_000
        }, full: { _ in false })
        #expect(controller.window == 256)
        #expect(controller.changes[.latency] == nil)
    }
}

/// The answer times of the requests in flight, earliest first.
/// Requests in flight by when they are answered, each with when it was sent.
private struct MinHeap {
    private var items: [(due: Int64, sent: Int64)] = []
    var count: Int { items.count }
    var first: Int64? { items.first?.due }

    mutating func push(_ due: Int64, sent: Int64) {
        items.append((due, sent))
        var child = items.count - 1
        while child > 0, items[(child - 1) / 2].due > items[child].due {
            items.swapAt(child, (child - 1) / 2)
            child = (child - 1) / 2
        }
    }

    mutating func pop() -> (due: Int64, sent: Int64) {
        let top = items[0]
        items[0] = items[items.count - 1]
        items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count, items[left].due < items[smallest].due { smallest = left }
            if right < items.count, items[right].due < items[smallest].due { smallest = right }
            if smallest == parent { return top }
            items.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
