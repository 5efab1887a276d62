import ClaimGateCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The admin listener: plain HTTP on a loopback address only. `GET /healthz` (the process
/// runs), `GET /readyz` (the gateway can serve: its store takes a write) and `GET /metrics`
/// (Prometheus text format).
public final class AdminServer: Service, @unchecked Sendable {
    let host: String
    let port: Int
    let metrics: @Sendable () throws -> String
    let ready: @Sendable () throws -> String
    let logger: Logger
    let onListening: @Sendable (Int) -> Void

    /// - Parameters:
    ///   - host: must be a loopback address (`127.x.x.x`, `::1` or `localhost`).
    ///   - metrics: renders the metrics page.
    ///   - ready: throws when the gateway cannot serve now (a `ClaimGateError` `audit-unavailable`
    ///     when its database cannot be written), else returns lines that follow `ready` (the
    ///     database and the jobs' leases); asked on every `/readyz`, on a blocking thread.
    public init(host: String, port: Int, logger: Logger, metrics: @escaping @Sendable () throws -> String,
                ready: @escaping @Sendable () throws -> String, onListening: @escaping @Sendable (Int) -> Void = { _ in }) throws {
        guard Self.isLoopback(host) else {
            throw AdminServerError(message: "--admin \(host) is not a loopback address: the admin listener is plain HTTP and local only; use 127.0.0.1.")
        }
        self.host = host; self.port = port; self.logger = logger; self.metrics = metrics; self.ready = ready
        self.onListening = onListening
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    public func run() async throws {
        let router = Router()
        router.get("/healthz") { _, _ in "ok\n" }
        let metrics = self.metrics, ready = self.ready, logger = self.logger
        router.get("/readyz") { _, _ -> Response in
            do {
                // The probe is a database write transaction: off the concurrency pool.
                let details = try await NIOThreadPool.singleton.runIfActive { try ready() }
                return Self.plain(.ok, "ready\n" + details)
            } catch let e as ClaimGateError where e.code == .auditUnavailable {
                logger.warning("not ready: the gateway database cannot be written", metadata: ["error": "\(e.diagnostics ?? e.message)"])
                return Self.plain(.serviceUnavailable, "not ready: the gateway database cannot be written\n")
            } catch {
                logger.warning("not ready", metadata: ["error": "\(error)"])
                return Self.plain(.serviceUnavailable, "not ready\n")
            }
        }
        router.get("/metrics") { _, _ -> Response in
            let text = try metrics()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let onListening = self.onListening
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "ClaimGate admin"),
                              onServerRunning: { onListening($0.localAddress?.port ?? 0) }, logger: logger)
        try await app.runService(gracefulShutdownSignals: [])
    }

    static func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

public struct AdminServerError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
