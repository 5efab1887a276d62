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

/// The operator API (`serve --operator-api HOST:PORT`): JSON over HTTPS for every operator
/// action, with mutual TLS. The handshake accepts only client certificates the operator CA
/// issued (`Gateway.acceptsOperatorCertificate`); each request then acts as the operator its
/// certificate names (`Gateway.operatorPrincipal`), and the operation it calls judges that
/// operator as stored at that moment. It translates and renders: no policy, no store.
public final class OperatorAPIServer: Service, @unchecked Sendable {
    public struct Configuration: Sendable {
        /// Listen address (port 0 picks a free one).
        public var host = "127.0.0.1"
        public var port = 0
        /// The server certificate chain (DER, leaf first) and its private key (PEM): the gateway's
        /// TLS certificate, which chains to the gateway CA (`claimgate identity --pem`).
        public var certificateChainDER: [[UInt8]]
        public var privateKeyPEM: [UInt8]
        /// Threads for the operations (file and database work, durable commits).
        public var blockingThreads = 8
        /// A connection idle this long is closed.
        public var idleTimeoutSeconds = 60
        /// The largest document one upload may carry.
        public var maxUploadBytes: Int64 = 4 << 30
        /// How long an unused upload is kept.
        public var uploadMaxAgeSeconds: TimeInterval = 3600

        public init(certificateChainDER: [[UInt8]], privateKeyPEM: [UInt8]) {
            self.certificateChainDER = certificateChainDER
            self.privateKeyPEM = privateKeyPEM
        }
    }

    let configuration: Configuration
    let gateway: Gateway
    let logger: Logger
    let onListening: @Sendable (Int) -> Void

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
        // A client certificate is required; the gateway's own check (against the operator CA
        // only) replaces the TLS library's.
        tls.certificateVerification = .noHostnameVerification
        tls.trustRoots = .certificates([])
        let gateway = self.gateway, logger = self.logger
        let blocking = NIOThreadPool(numberOfThreads: configuration.blockingThreads)
        blocking.start()
        let verify: TLSChannelConfiguration.CustomVerificationCallback = { certificates, promise in
            let chain = certificates.compactMap { try? $0.toDERBytes() }
            blocking.submit { state in
                guard state == .active, chain.count == certificates.count, gateway.acceptsOperatorCertificate(chainDER: chain) else {
                    logger.info("operator API handshake refused: the client certificate is not an operator's")
                    promise.succeed(.failed)
                    return
                }
                promise.succeed(.certificateVerified)
            }
        }
        let uploads = OperatorUploads(home: gateway.home, maxAge: configuration.uploadMaxAgeSeconds)
        uploads.sweep()
        let router = Router(context: OperatorRequestContext.self)
        OperatorRoutes(gateway: gateway, uploads: uploads, logger: logger, blocking: blocking,
                       maxUploadBytes: configuration.maxUploadBytes).register(on: router)
        let onListening = self.onListening
        let app = Application(
            router: router,
            server: try .tls(.http1(configuration: .init(idleTimeout: .seconds(Int64(configuration.idleTimeoutSeconds)))),
                             configuration: .init(tlsConfiguration: tls, customVerificationCallback: verify)),
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

/// A request context that keeps the connection, to read the verified client certificate.
struct OperatorRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The client certificate of this connection (DER), which the handshake accepted.
    func clientCertificateDER() async -> [UInt8]? {
        guard let peer = try? await channel.nioSSL_peerCertificate().get() else { return nil }
        return try? peer.toDERBytes()
    }
}
