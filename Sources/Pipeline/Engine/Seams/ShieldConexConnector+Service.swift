import NIOCore
import ShieldConex

extension ShieldConexConnector: ServiceConnector {
    public func connect(on loop: any EventLoop) -> EventLoopFuture<any ServiceConnection> {
        let promise = loop.makePromise(of: (any ServiceConnection).self)
        promise.completeWithTask { try await open(on: loop) }
        return promise.futureResult.hop(to: loop)
    }
}
