import ClaimGateCore
import ClaimGateTesting
import Foundation
import HTTPS
import Logging
import ServiceLifecycle
import Testing

/// The admin listener on 127.0.0.1 (port 0), driven by curl: `/healthz` says the process runs,
/// `/readyz` whether the gateway can serve (its store takes a write), `/metrics` the page.
@Suite struct AdminServerTests {
    final class Probe: @unchecked Sendable {
        private let lock = NSLock()
        private var _failure: (any Error)?
        private(set) var calls = 0
        var failure: (any Error)? {
            get { lock.withLock { _failure } }
            set { lock.withLock { _failure = newValue } }
        }
        func check() throws {
            let f = lock.withLock { calls += 1; return _failure }
            if let f { throw f }
        }
    }

    static func serve(ready: Probe, _ body: (Int) async throws -> Void) async throws {
        try await withTaskExecutorPreference(DedicatedExecutor.shared) {
            var logger = Logger(label: "claimgate.test.admin")
            logger.logLevel = .critical
            let (ports, listening) = AsyncStream.makeStream(of: Int.self)
            let server = try AdminServer(host: "127.0.0.1", port: 0, logger: logger, metrics: { "claimgate_up 1\n" },
                                         ready: { try ready.check(); return "" }) { listening.yield($0) }
            let group = ServiceGroup(services: [server], logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { defer { listening.finish() }; try await group.run() }
                var first = ports.makeAsyncIterator()
                guard let port = await first.next() else { try await tasks.waitForAll(); Issue.record("no port"); return }
                do { try await body(port) } catch {
                    await group.triggerGracefulShutdown(); try? await tasks.waitForAll(); throw error
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
    }

    static func get(_ port: Int, _ path: String) async throws -> (status: Int, contentType: String, body: String) {
        let r = try await Shell.runDetached(["curl", "-sS", "--max-time", "20", "-o", "-", "-w", "\n%{http_code} %{content_type}",
                                             "http://127.0.0.1:\(port)\(path)"])
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let last = lines.last.map(String.init) ?? ""
        let parts = last.split(separator: " ", maxSplits: 1)
        return (Int(parts.first ?? "") ?? 0, parts.count > 1 ? String(parts[1]) : "", lines.dropLast().joined(separator: "\n"))
    }

    @Test func readyzAnswersWhatTheProbeSaysEachTime() async throws {
        let probe = Probe()
        try await Self.serve(ready: probe) { port in
            let ok = try await Self.get(port, "/readyz")
            #expect(ok.status == 200)
            #expect(ok.body == "ready\n")

            probe.failure = ClaimGateError(.auditUnavailable, "The gateway database cannot be written.",
                                           diagnostics: "SQLite error 8: attempt to write a readonly database - /secret/path/gateway.sqlite")
            let failing = try await Self.get(port, "/readyz")
            #expect(failing.status == 503)
            #expect(failing.contentType.hasPrefix("text/plain"))
            #expect(failing.body == "not ready: the gateway database cannot be written\n")
            #expect(!failing.body.contains("secret"), "diagnostics stay in the log")
            // The process still runs: liveness is another question.
            #expect(try await Self.get(port, "/healthz").status == 200)

            probe.failure = nil
            #expect(try await Self.get(port, "/readyz").status == 200)
        }
        #expect(probe.calls == 3, "asked on every request, never cached")
    }

    /// Any other failure of the probe (not the store's own error) is not ready either.
    @Test func anyProbeFailureIsNotReady() async throws {
        struct Odd: Error {}
        let probe = Probe()
        probe.failure = Odd()
        try await Self.serve(ready: probe) { port in
            let r = try await Self.get(port, "/readyz")
            #expect(r.status == 503)
            #expect(r.body == "not ready\n")
        }
    }
}
