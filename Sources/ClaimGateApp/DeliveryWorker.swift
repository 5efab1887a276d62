import ClaimGateCore
import Operations
import Foundation
import Logging
import ServiceLifecycle

/// Retries pending push deliveries with backoff while `serve` runs. Pushes block (libssh), so
/// the work runs on its own thread; the service only starts and stops it.
public final class DeliveryWorker: Service, @unchecked Sendable {
    let gateway: Gateway
    let retry: RetryPolicy
    let interval: TimeInterval
    private let wake = NSCondition()
    private var stopping = false
    private let done = DispatchSemaphore(value: 0)

    /// - Parameters:
    ///   - retry: when a failed delivery is tried again.
    ///   - interval: how often due deliveries are looked for, in seconds.
    public init(gateway: Gateway, retry: RetryPolicy, interval: TimeInterval = 2) {
        self.gateway = gateway; self.retry = retry; self.interval = interval
    }

    public func start() {
        let t = Thread { [self] in loop() }
        t.name = "claimgate-deliveries"
        t.start()
    }

    private func loop() {
        defer { done.signal() }
        while true {
            // Only on the node that holds the job's lease (`LeaseKeeper`).
            do { if let lease = gateway.currentLease(.deliveries) { try gateway.deliverDue(retry: retry, lease: lease) } } catch {
                gateway.logger.error("delivery pass failed", metadata: ["error": "\(error)"])
            }
            wake.lock()
            if !stopping { _ = wake.wait(until: Date().addingTimeInterval(interval)) }
            let stop = stopping
            wake.unlock()
            if stop { return }
        }
    }

    /// Stops after the attempt under way, if any.
    public func stop() {
        wake.lock(); stopping = true; wake.broadcast(); wake.unlock()
        done.wait()
    }

    public func run() async throws {
        start()
        try? await gracefulShutdown()
        stop()
    }
}
