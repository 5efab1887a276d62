import ClaimGateCore
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// The partners' HTTPS API: TLS 1.2+ with a client certificate required on every connection.
/// Who the caller is comes only from that certificate (`PartnerExchange.openSession`, per request), never from a
/// header, path or query parameter. Every decision goes through the same `PartnerExchange` as SFTP.
public final class PartnerAPIServer: Service, @unchecked Sendable {
    public struct Configuration: Sendable {
        /// Listen address (default 127.0.0.1:8443; port 0 picks a free one).
        public var host = "127.0.0.1"
        public var port = 8443
        /// The server certificate chain (DER, leaf first) and its private key (PEM).
        public var certificateChainDER: [[UInt8]]
        public var privateKeyPEM: [UInt8]
        /// Threads for durable writes (audit entries); requests waiting on them share commits.
        public var blockingThreads = 32
        /// A connection that sends nothing (no handshake, no request) for this long is closed, so
        /// idle or half-opened connections cannot pile up. An answer being written is not idle.
        public var idleTimeoutSeconds = 60

        public init(certificateChainDER: [[UInt8]], privateKeyPEM: [UInt8]) {
            self.certificateChainDER = certificateChainDER
            self.privateKeyPEM = privateKeyPEM
        }
    }

    let configuration: Configuration
    let exchange: any PartnerExchange
    let logger: Logger
    /// Called with the bound port once the listener runs.
    let onListening: @Sendable (Int) -> Void

    public init(configuration: Configuration, exchange: any PartnerExchange, logger: Logger,
                onListening: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.configuration = configuration
        self.exchange = exchange
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try configuration.certificateChainDER.map { .certificate(try NIOSSLCertificate(bytes: $0, format: .der)) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: configuration.privateKeyPEM, format: .pem)))
        tls.minimumTLSVersion = .tlsv12
        // Require a client certificate chaining to some partner's anchor as the agreements stand
        // at each handshake (no restart to onboard or remove a partner); `openSession` then decides,
        // per request, which partner it is (exactly one, or refused).
        tls.certificateVerification = .noHostnameVerification
        tls.trustRoots = .certificates([])
        let exchange = self.exchange
        let blocking = NIOThreadPool(numberOfThreads: configuration.blockingThreads)
        blocking.start()
        // The check reads the agreements and a refusal is a durable write: both run on the
        // blocking pool, never on the event loop; the handshake resumes when the promise completes.
        let refusals = HandshakeRefusals(exchange: exchange, blocking: blocking, logger: logger)
        let verify: TLSChannelConfiguration.CustomVerificationCallback = { certificates, promise in
            let chain = certificates.compactMap { try? $0.toDERBytes() }
            blocking.submit { state in
                guard state == .active else { promise.succeed(.failed); return }
                if chain.count == certificates.count, exchange.acceptsClientCertificate(chainDER: chain) {
                    promise.succeed(.certificateVerified)
                    return
                }
                // Refused at the handshake: recorded (the TLS layer does not say from which
                // address), one by one up to a burst per minute, then as a count.
                promise.succeed(.failed)
                refusals.refused()
            }
        }
        let router = Router(context: PartnerRequestContext.self)
        PartnerRoutes(exchange: exchange, logger: logger, blocking: blocking).register(on: router)
        let onListening = self.onListening
        let app = Application(
            router: router, server: try .tls(.http1(configuration: .init(idleTimeout: .seconds(Int64(configuration.idleTimeoutSeconds)))), configuration: .init(tlsConfiguration: tls, customVerificationCallback: verify)),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "ClaimGate"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        do {
            try await app.runService(gracefulShutdownSignals: [])
        } catch {
            try? await blocking.runIfActive { refusals.drain() }
            try? await blocking.shutdownGracefully()
            throw error
        }
        // Refused handshakes only counted so far are recorded before the pool stops.
        try? await blocking.runIfActive { refusals.drain() }
        try? await blocking.shutdownGracefully()
    }
}

/// A request context that keeps the connection, to read the verified client certificate.
struct PartnerRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel
    /// What the access line of this request says, filled in as the request is handled.
    let access = AccessNote()

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The client's `IP:port`.
    var clientAddress: String {
        guard let a = channel.remoteAddress else { return "unknown" }
        return "\(a.ipAddress ?? "unknown"):\(a.port ?? 0)"
    }
}

/// Handshakes refused for an untrusted client certificate, recorded through a `RefusalThrottle`:
/// anyone can open TLS connections, and each refusal must not cost a durable write without
/// bound. The first 100 of each minute are recorded one by one, the rest as one entry with the
/// count (reason `untrusted-client-certificate: N more …`), written when the minute is over.
final class HandshakeRefusals: @unchecked Sendable {
    private let refusals: ThrottledRefusals
    private let blocking: NIOThreadPool
    private let logger: Logger
    static let reason = EventReason.Code.Note.untrustedClientCertificate

    init(exchange: any PartnerExchange, blocking: NIOThreadPool, logger: Logger, throttle: RefusalThrottle = RefusalThrottle()) {
        self.blocking = blocking
        self.logger = logger
        refusals = ThrottledRefusals(throttle: throttle, summary: { s in
            TransferEvent(time: s.until, actor: .system, action: .loginRefused, outcome: .refused,
                          reason: EventReason(Self.reason, "\(s.count) more refused handshakes from \(Timestamp.format(s.from)) to \(Timestamp.format(s.until)), counted, not recorded one by one"),
                          transport: .https)
        }, record: { event in
            do { try exchange.record(event) } catch { logger.error("recording an event failed", metadata: ["action": "login-refused"]) }
        })
    }

    /// A handshake was refused now. Blocking (a durable write): call on the blocking pool.
    func refused() {
        let now = Date()
        guard let windowEnd = refusals.refused(TransferEvent(time: now, actor: .system, action: .loginRefused, outcome: .refused,
                                                             reason: EventReason(Self.reason), transport: .https)) else { return }
        logger.warning("many TLS handshakes refused for untrusted client certificates: counting the rest of this minute instead of recording each")
        // Write the count when the window is over, even if no other refusal comes.
        let delay = TimeAmount.nanoseconds(Int64(max(0, windowEnd.timeIntervalSince(now)) * 1e9) + 1_000_000)
        MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: delay) { [self] in
            blocking.submit { [self] _ in refusals.recordDue() }
        }
    }

    /// At shutdown: records what was only counted. Blocking: call on the blocking pool.
    func drain() { refusals.drain() }
}
