import Dispatch

/// A task executor on its own (non-cooperative, overcommitting) Dispatch queue, for servers that
/// tests run inside the test process. Swift's cooperative pool has one thread per core (two here),
/// and synchronous tests that wait on child processes block those threads for seconds; an
/// in-process server whose handlers ran there would starve and its clients time out. Tasks
/// started with this preference, and their child tasks, run here instead.
public final class DedicatedExecutor: TaskExecutor, @unchecked Sendable {
    public static let shared = DedicatedExecutor()
    private let queue = DispatchQueue(label: "claimgate-test-servers", attributes: .concurrent)

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}
