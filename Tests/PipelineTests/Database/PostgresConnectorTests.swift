import Logging
import NIOCore
import NIOPosix
@testable import Pipeline
import PostgresNIO
import Testing
import TestSupport

/// A connection let go of on an event loop that is not its own (a table reader or output released
/// by the engine's loop) is closed before it goes: postgres-nio asserts it, and a debug build
/// would trap as the job ends, after its summary (exit by SIGILL: seen in the sharded table tests
/// on a busy machine).
@Suite(.serialized) struct PostgresConnectorTests {
    final class Holder: @unchecked Sendable {
        // Set on the test's thread, cleared on the other loop: the last reference goes there.
        var connection: PostgresConnection?
        init(_ connection: PostgresConnection) { self.connection = connection }
    }

    @Test func aConnectionClosedFromAnotherLoopIsKeptUntilItIsClosed() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        let settings = try PostgresSettings.resolve(url: server.url(), environment: server.environment)
        let loops = Array(MultiThreadedEventLoopGroup.singleton.makeIterator())
        for _ in 0..<20 {
            let holder = Holder(try PostgresConnector.connect(settings, logger: Logger(label: "test")))
            let own = holder.connection!.eventLoop
            let closed = holder.connection!.closeFuture
            let other = loops.first { $0 !== own } ?? own
            try other.submit {
                PostgresConnector.close(holder.connection!)
                holder.connection = nil
            }.wait()
            try closed.wait()
            #expect(holder.connection == nil)
        }
    }
}
