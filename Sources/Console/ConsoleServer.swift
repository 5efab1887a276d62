import ClaimGateCore
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Operations
import ServiceLifecycle

/// The web console (`serve --console HOST:PORT`): server-rendered pages in Simplified Chinese and
/// English over HTTPS with the gateway's TLS certificate. Operators log in with password and
/// TOTP (no client certificate is asked for); each page calls the same `Gateway` operations as
/// the command line and the operator API, acting as the session's operator, so the same role
/// checks apply and the same audit entries are written. It translates and renders: no policy,
/// no store.
public final class ConsoleServer: Service, @unchecked Sendable {
    public struct Configuration: Sendable {
        /// Listen address (port 0 picks a free one).
        public var host = "127.0.0.1"
        public var port = 0
        /// The server certificate chain (DER, leaf first) and its private key (PEM): the gateway's
        /// TLS certificate, which chains to the gateway CA (`claimgate identity --pem`).
        public var certificateChainDER: [[UInt8]]
        public var privateKeyPEM: [UInt8]
        /// Threads for the operations (file and database work, durable commits).
        public var blockingThreads = 4
        /// A connection idle this long is closed.
        public var idleTimeoutSeconds = 60
        /// The largest request body a send may carry (every document together).
        public var maxUploadBytes: Int64 = 512 << 20
        /// The time zone dates are shown in until an operator picks one (`__Host-claimgate-tz`).
        public var timeZone: TimeZone = .current

        public init(certificateChainDER: [[UInt8]], privateKeyPEM: [UInt8]) {
            self.certificateChainDER = certificateChainDER
            self.privateKeyPEM = privateKeyPEM
        }
    }

    let configuration: Configuration
    let gateway: Gateway
    let logger: Logger
    let onListening: @Sendable (Int) -> Void

    /// - Parameters:
    ///   - configuration: where to listen, the TLS identity and limits.
    ///   - gateway: the gateway whose operations the pages call.
    ///   - logger: for requests that fail (never a token, a document or a metadata value).
    ///   - onListening: called with the bound port once the console listens.
    public init(configuration: Configuration, gateway: Gateway, logger: Logger,
                onListening: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.configuration = configuration
        self.gateway = gateway
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try configuration.certificateChainDER.map { .certificate(try NIOSSLCertificate(bytes: $0, format: .der)) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: configuration.privateKeyPEM, format: .pem)))
        tls.minimumTLSVersion = .tlsv12
        // Browsers log in with a password and TOTP: no client certificate is asked for.
        tls.certificateVerification = .none
        let views = try await ConsoleViews.load()
        let blocking = NIOThreadPool(numberOfThreads: configuration.blockingThreads)
        blocking.start()
        let router = Router(context: ConsoleRequestContext.self)
        ConsoleRoutes(gateway: gateway, views: views, logger: logger, blocking: blocking,
                      maxUploadBytes: configuration.maxUploadBytes, defaultTimeZone: configuration.timeZone).register(on: router)
        let onListening = self.onListening
        let app = Application(
            router: router,
            server: try .tls(.http1(configuration: .init(idleTimeout: .seconds(Int64(configuration.idleTimeoutSeconds)))),
                             tlsConfiguration: tls),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "ClaimGate"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        do {
            try await app.runService(gracefulShutdownSignals: [])
        } catch {
            try? await blocking.shutdownGracefully()
            throw error
        }
        try? await blocking.shutdownGracefully()
    }
}
