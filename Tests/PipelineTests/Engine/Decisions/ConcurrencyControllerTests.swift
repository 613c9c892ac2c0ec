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

    @Test func aFullWindowAtAFlatRoundTripGrowsToTheCeiling() {
        var controller = ConcurrencyController(settings: settings(), now: start)
        // 100 ms away, no queue anywhere: more in flight is pure gain.
        let windows = drive(&controller, seconds: 10, roundTrip: { _ in 100_000_000 })
        #expect(Array(windows.prefix(5)) == [256, 512, 1024, 2048, 4096])
        #expect(controller.window == 4096)
        #expect(controller.reason == .growing)
        #expect(controller.peak == 4096)
        #expect(controller.floor! >= 99_000_000 && controller.floor! < 101_000_000)
    }

    /// A step that did not pay in full (the round trip rose a fifth: within the tolerance, but
    /// the answers a second grew 1.67 times for a window twice as large) is followed by a
    /// doubling, not a fourfold step: a service near its knee is approached in small steps.
    @Test func aStepThatDidNotPayInFullIsFollowedByADoubling() {
        var quick = settings()
        quick.slowStartFactor = 4
        var controller = ConcurrencyController(settings: quick, now: start)
        let windows = drive(&controller, seconds: 10, roundTrip: { window in
            100_000_000 + Int64(20_000_000 * log2(Double(window) / 256))
        })
        #expect(Array(windows.prefix(3)) == [256, 512, 1024], "\(windows)")
        #expect(controller.peak == 1024, "\(windows)")
    }

    /// With `slowStartFactor` 4, fourfold steps after one that paid (the first two double: the
    /// first window's answers came as one burst, no rate to compare with): the ceiling in fewer
    /// steps. (Not the engine's default: see `Benchmarks/README.md`.)
    @Test func theFourfoldStepsReachTheCeilingSooner() {
        let doublingSettings = settings()
        var quickSettings = settings()
        quickSettings.slowStartFactor = 4
        var quick = ConcurrencyController(settings: quickSettings, now: start)
        var doubling = ConcurrencyController(settings: doublingSettings, now: start)
        let quickWindows = drive(&quick, seconds: 10, roundTrip: { _ in 100_000_000 })
        let doublingWindows = drive(&doubling, seconds: 10, roundTrip: { _ in 100_000_000 })
        #expect(Array(doublingWindows.prefix(5)) == [256, 512, 1024, 2048, 4096])
        #expect(quick.changes[.growing] == 3 && doubling.changes[.growing] == 4, "\(quickWindows) \(doublingWindows)")
        // Four round trips from the start: the quick ramp is at the ceiling,
        // doubling not yet.
        var early = ConcurrencyController(settings: quickSettings, now: start)
        var late = ConcurrencyController(settings: doublingSettings, now: start)
        drive(&early, seconds: 0.4, roundTrip: { _ in 100_000_000 })
        drive(&late, seconds: 0.4, roundTrip: { _ in 100_000_000 })
        #expect(early.window == 4096 && late.window < 4096, "\(early.window) against \(late.window)")
    }

    /// The first interval starts when the first window is out (the window first held a record
    /// back), not at the first answer: 100 ms away, the first window's answers are enough, and
    /// the first step comes a round trip after the start instead of two.
    @Test func theFirstIntervalStartsWhenTheFirstWindowIsOut() {
        var controller = ConcurrencyController(settings: settings(), now: start)
        controller.heldBack(now: start)
        var changedAt: Int?
        for index in 0..<512 where changedAt == nil {
            // The first window's answers after 100 ms, spread over a millisecond; the second's
            // a round trip later.
            let now = start + .nanoseconds(100_000_000 * Int64(1 + index / 256) + Int64(index % 256) * 4_000)
            controller.heldBack(now: now)
            if controller.answered(roundTrip: 100_000_000, inFlight: 256, now: now, congestion: false) { changedAt = index }
        }
        #expect(changedAt == 255 && controller.window == 512, "changed at answer \(changedAt ?? -1)")
        #expect(controller.floor! >= 100_000_000 && controller.floor! < 102_000_000, "\(controller.floor!)")
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
        let windows = drive(&controller, seconds: 0.3, roundTrip: { _ in 100_000_000 }, throttled: { _ in 0.2 })
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
        while !changed {
            now = now + .milliseconds(1)
            controller.heldBack(now: now)
            changed = controller.answered(roundTrip: 100_000_000, inFlight: 64, now: now, congestion: false)
        }
        #expect(controller.window == 128)
        // While the change settles, even a flood of slow answers changes nothing: they
        // were sent under the old window.
        var changes = 0
        for offset in 1...1000 where controller.answered(
            roundTrip: 900_000_000, inFlight: 128, now: now + .microseconds(Int64(offset) * 99), congestion: false
        ) {
            changes += 1
        }
        #expect(changes == 0 && controller.window == 128)
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
