import Dispatch

/// Runs blocking work (file I/O, fsync, durable commits) from a service's async loop on a
/// Dispatch thread, so the Swift concurrency pool (two threads on a two-core host) never waits
/// for a disk.
func offload(_ work: @escaping @Sendable () -> Void) async {
    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
        DispatchQueue.global(qos: .utility).async {
            work()
            done.resume()
        }
    }
}
