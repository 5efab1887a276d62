import Foundation

/// Runs async work from a thread that must wait for it (the delivery thread, a CLI command, the
/// operator API client).
/// Never call it from a task on the Swift concurrency pool: it blocks the calling thread.
public enum Blocking {
    public static func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }
}

/// Written by one task before a semaphore signal, read after the wait.
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}
