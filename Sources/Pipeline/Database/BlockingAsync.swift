import Foundation

/// Runs async work from a thread that may block (the checkpoint stage's writer, a reader's
/// thread; never an event loop or a task's thread) and waits for its result: postgres-nio's
/// `COPY` is async only.
enum BlockingAsync {
    static func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let box = Box<T>()
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                box.result = .success(try await body())
            } catch {
                box.result = .failure(error)
            }
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }

    private final class Box<T: Sendable>: @unchecked Sendable {
        // Written by the task before it signals, read after the wait: ordered by the semaphore.
        var result: Result<T, any Error>?
    }
}
