import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The admin listener: plain HTTP on a loopback address only. `GET /healthz` and
/// `GET /metrics` (Prometheus text format).
public final class AdminServer: Service, @unchecked Sendable {
    let host: String
    let port: Int
    let metrics: @Sendable () throws -> String
    let logger: Logger
    let onListening: @Sendable (Int) -> Void

    /// - Parameters:
    ///   - host: must be a loopback address (`127.x.x.x`, `::1` or `localhost`).
    ///   - metrics: renders the metrics page.
    public init(host: String, port: Int, logger: Logger, metrics: @escaping @Sendable () throws -> String,
                onListening: @escaping @Sendable (Int) -> Void = { _ in }) throws {
        guard Self.isLoopback(host) else {
            throw AdminServerError(message: "--admin \(host) is not a loopback address: the admin listener is plain HTTP and local only; use 127.0.0.1.")
        }
        self.host = host; self.port = port; self.logger = logger; self.metrics = metrics; self.onListening = onListening
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    public func run() async throws {
        let router = Router()
        router.get("/healthz") { _, _ in "ok\n" }
        let metrics = self.metrics
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
}

public struct AdminServerError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
