import NIOCore
import Simulator
import Testing

/// The simulator's capacity model: N workers, one first-come-first-served queue, a constant
/// processing time.
struct ServiceQueueTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test func withinTheCapacityEveryRequestTakesOnlyItsProcessingTime() {
        var queue = ServiceQueue(capacity: 4, processing: .milliseconds(10))
        for index in 0..<100 {
            // One arrival every 2.5 ms: exactly what 4 workers of 10 ms take.
            let now = start + .microseconds(Int64(index) * 2_500)
            #expect(queue.admit(now: now) == now + .milliseconds(10))
        }
        #expect(queue.queued == 0)
    }

    @Test func aBurstBeyondTheCapacityQueuesInOrder() {
        var queue = ServiceQueue(capacity: 2, processing: .milliseconds(10))
        // Seven at once: two start now, the next two when those finish, and so on.
        let finishes = (0..<7).map { _ in queue.admit(now: start) }
        #expect(finishes.map { ($0 - start).nanoseconds / 1_000_000 } == [10, 10, 20, 20, 30, 30, 40])
        #expect(queue.queued == 5)
        // Once the queue has drained, a request is served at once again.
        let later = start + .milliseconds(100)
        #expect(queue.admit(now: later) == later + .milliseconds(10))
    }

    @Test func throughputUnderOverloadIsTheCapacity() {
        var queue = ServiceQueue(capacity: 10, processing: .milliseconds(5))
        // 10,000 requests offered at once to 10 workers of 5 ms: 2,000/s, so the last is
        // done after 5 s.
        var last = start
        for _ in 0..<10_000 { last = queue.admit(now: start) }
        #expect(last - start == .seconds(5))
    }
}
