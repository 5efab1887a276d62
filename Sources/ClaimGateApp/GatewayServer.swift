import ClaimGateCore
import Console
import Exchange
import Foundation
import HTTPS
import Logging
import OperatorAPI
import Operations
import SFTP
import ServiceLifecycle

/// `claimgate serve` composed: one partner exchange for the SFTP server and the HTTPS API, the
/// admin listener, push retries, purge, the certificate watch and audit checkpoints, run as one
/// service group until SIGTERM or SIGINT.
public struct GatewayServer: Sendable {
    public let configuration: ServeConfiguration
    public let gateway: Gateway
    public let logger: Logger

    public init(configuration: ServeConfiguration, gateway: Gateway, logger: Logger) {
        self.configuration = configuration; self.gateway = gateway; self.logger = logger
    }

    /// Starts every listener and runs the group until a shutdown signal, then stops them in
    /// reverse order. `announce` gets one line per listener once it listens (tests and operators
    /// read the ports from them).
    public func run(announce: @escaping @Sendable (String) -> Void) async throws {
        let c = configuration
        var sftpConfig = SFTPServer.Configuration(hostKeyPath: gateway.home.identity + "/ssh_host_ed25519")
        sftpConfig.host = c.sftp.host
        sftpConfig.port = c.sftp.port
        let exchange = GatewayExchange(gateway: gateway, maxUploadBytes: c.maxUploadBytes)
        let server = SFTPServer(configuration: sftpConfig, exchange: exchange, logger: logger)
        do { try server.start() } catch let e as SFTPServerError {
            throw ClaimGateError(.io, e.message)
        }
        // Announced once the group runs, with its signal handlers in place: a SIGTERM sent as
        // soon as the line is read then stops the gateway gracefully.
        let sftpLine = "sftp: listening on \(c.sftp.host):\(server.boundPort) (host key \(try gateway.identity.sshHost().fingerprint))"
        var apiConfig = PartnerAPIServer.Configuration(
            certificateChainDER: [try gateway.identity.tls().der, gateway.identity.ca.der],
            privateKeyPEM: Array(try Data(contentsOf: URL(fileURLWithPath: gateway.home.identity + "/" + GatewayIdentity.File.tlsKey))))
        apiConfig.host = c.https.host
        apiConfig.port = c.https.port
        apiConfig.idleTimeoutSeconds = c.httpsIdleTimeout
        let api = PartnerAPIServer(configuration: apiConfig, exchange: exchange, logger: logger) { port in
            announce("https: listening on \(c.https.host):\(port) (client certificate required)")
        }
        let adminServer: AdminServer
        let gateway = self.gateway
        do {
            adminServer = try AdminServer(host: c.admin.host, port: c.admin.port, logger: logger,
                                          metrics: { try gateway.prometheusMetrics() + exchange.durations.prometheusText() },
                                          ready: { try gateway.readiness() }) { port in
                announce("admin: listening on http://\(c.admin.host):\(port) (/healthz, /readyz, /metrics)")
            }
        } catch let e as AdminServerError {
            server.stop()
            throw ClaimGateError(.invalidArgument, e.message)
        }
        // The operator API, when asked for: the same TLS identity, operator certificates only.
        var operatorServices: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let address = c.operatorAPI {
            try gateway.prepareOperatorCA()
            var config = OperatorAPIServer.Configuration(certificateChainDER: apiConfig.certificateChainDER, privateKeyPEM: apiConfig.privateKeyPEM)
            config.host = address.host
            config.port = address.port
            config.idleTimeoutSeconds = c.httpsIdleTimeout
            config.maxUploadBytes = c.maxUploadBytes
            operatorServices.append(.init(service: OperatorAPIServer(configuration: config, gateway: gateway, logger: logger) { port in
                announce("operator-api: listening on \(address.host):\(port) (operator certificates only)")
            }))
        }
        // The web console, when asked for: the same TLS identity, password + TOTP logins.
        if let address = c.console {
            var config = ConsoleServer.Configuration(certificateChainDER: apiConfig.certificateChainDER, privateKeyPEM: apiConfig.privateKeyPEM)
            config.host = address.host
            config.port = address.port
            config.idleTimeoutSeconds = c.httpsIdleTimeout
            config.maxUploadBytes = c.maxUploadBytes
            operatorServices.append(.init(service: ConsoleServer(configuration: config, gateway: gateway, logger: logger) { port in
                announce("console: listening on \(address.host):\(port) (password and TOTP)")
            }))
        }
        let deliveries = DeliveryWorker(gateway: gateway, retry: RetryPolicy(base: c.retryBase), interval: min(2, c.retryBase))
        // The singleton jobs' leases, taken before the jobs start.
        let leases = LeaseKeeper(gateway: gateway)
        leases.renew()
        let group = ServiceGroup(configuration: .init(
            // Stopped in reverse order: the checkpointer goes last but the lease keeper, so its
            // final checkpoint seals every entry the others wrote while stopping, under its lease.
            services: [.init(service: leases),
                       .init(service: AuditCheckpointer(gateway: gateway, interval: .seconds(c.auditInterval))),
                       .init(service: CertificateWatch(gateway: gateway, logger: logger)),
                       .init(service: PartnerWatch(exchange: exchange)),
                       .init(service: StartedService(server) { announce(sftpLine) }), .init(service: api)] + operatorServices + [.init(service: adminServer),
                       .init(service: deliveries),
                       .init(service: PurgeJob(gateway: gateway, interval: .seconds(c.purgeInterval), inboundRetentionDays: c.inboundRetentionDays))],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            server.stop()
            throw ClaimGateError(.io, "serve stopped: \(error). Check that --https \(c.https) and --admin \(c.admin) are free (port 0 picks one).")
        }
    }
}

/// Wraps a server that was started before the group (to report its port): the group only waits
/// for shutdown and stops it.
struct StartedService: Service {
    let server: SFTPServer
    let running: @Sendable () -> Void
    init(_ server: SFTPServer, running: @escaping @Sendable () -> Void) { self.server = server; self.running = running }
    func run() async throws {
        running()
        try? await gracefulShutdown()
        server.stop()
    }
}
