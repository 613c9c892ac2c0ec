import NIOCore
import ShieldConex

extension Engine {
    /// The controller moved the window: the planner enforces the new one, and when the open
    /// connections' share of it would pass `--in-flight` each, more are opened (up to
    /// `--connections-max`). Connections are never closed for a smaller window: an idle one
    /// costs a heartbeat.
    func windowChanged() {
        planner.window = controller.window
        for action in pool.grow(toCarry: controller.window, perConnection: configuration.inFlight, atMost: configuration.connectionsMax) {
            perform(action, error: nil)
        }
        logger.debug(
            "window changed",
            metadata: [
                "window": "\(controller.window)", "reason": "\(controller.reason.rawValue)", "connections": "\(pool.sessions.count)",
                "round-trip.ms": "\(controller.lastRoundTrip.map { $0 / 1_000_000 } ?? 0)",
                "floor.ms": "\(controller.floor.map { $0 / 1_000_000 } ?? 0)",
            ]
        )
    }

    /// What the report says of the window.
    var windowSummary: WindowSummary {
        WindowSummary(
            start: controller.settings.start, ceiling: controller.settings.ceiling, last: controller.window, peak: controller.peak,
            lastReason: controller.reason.rawValue, changes: Dictionary(uniqueKeysWithValues: controller.changes.map { ($0.key.rawValue, $0.value) }),
            connections: pool.sessions.count, fixed: controller.settings.fixed,
            floorMilliseconds: controller.floor.map { Double($0 / 1_000) / 1_000 }
        )
    }
}
