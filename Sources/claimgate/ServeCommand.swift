import ArgumentParser
import ClaimGateApp
import ClaimGateCore
import Foundation
import Logging
import ServiceLifecycle
import HTTPS
import SFTP
import Exchange

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve partners: the SFTP server, the HTTPS partner API (mutual TLS), the local admin listener and push retries.",
        discussion: "Runs until SIGTERM or SIGINT, then stops accepting, ends open sessions (a transfer cut short is recorded as partial), finishes the push under way and exits.")

    @OptionGroup var home: HomeOption
    @Option(help: ArgumentHelp("SFTP listen address; port 0 picks a free port.", valueName: "HOST:PORT"))
    var sftp = "127.0.0.1:2222"
    @Option(help: ArgumentHelp("HTTPS partner API listen address (mutual TLS); port 0 picks a free port.", valueName: "HOST:PORT"))
    var https = "127.0.0.1:8443"
    @Option(help: ArgumentHelp("Admin listen address (/healthz, /metrics): plain HTTP, loopback only; port 0 picks a free port.", valueName: "HOST:PORT"))
    var admin = "127.0.0.1:9090"
    @Option(help: ArgumentHelp("Largest accepted upload.", valueName: "MiB")) var maxUploadMib = 512
    @Option(help: ArgumentHelp("First retry delay of a failed push; doubles on each failure up to an hour.", valueName: "SECONDS"))
    var retryBase = 30.0
    @Option(help: ArgumentHelp("How often new audit entries are sealed with a signed checkpoint (also at shutdown).", valueName: "SECONDS"))
    var auditInterval = 60
    @Option(help: ArgumentHelp("How often expired and recalled bundles are purged.", valueName: "SECONDS"))
    var purgeInterval = 600
    @Option(help: ArgumentHelp("Close an HTTPS connection that completes no handshake or request for this long.", valueName: "SECONDS"))
    var httpsIdleTimeout = 60
    @Option(help: ArgumentHelp("Keep inbound reports' documents this many days.", valueName: "DAYS"))
    var inboundRetentionDays = 90

    func validate() throws {
        for (name, value) in [("--sftp", sftp), ("--https", https), ("--admin", admin)] where ListenAddress(value) == nil {
            throw ValidationError("\(name) '\(value)' is not HOST:PORT (e.g. 127.0.0.1:2222).")
        }
        guard purgeInterval > 0, inboundRetentionDays > 0 else { throw ValidationError("--purge-interval and --inbound-retention-days must be more than 0.") }
        guard (1...3600).contains(auditInterval) else { throw ValidationError("--audit-interval must be 1 to 3600 seconds.") }
        guard maxUploadMib > 0 else { throw ValidationError("--max-upload-mib must be more than 0.") }
        guard (1...86_400).contains(httpsIdleTimeout) else { throw ValidationError("--https-idle-timeout must be 1 to 86400 seconds.") }
    }

    func run() async throws {
        var logger = Logger(label: "claimgate.serve")
        logger.logLevel = Logger.Level(rawValue: ProcessInfo.processInfo.environment["CLAIMGATE_LOG"] ?? "") ?? .info
        let gateway = try home.gateway()
        let address = ListenAddress(sftp)!
        var config = SFTPServer.Configuration(hostKeyPath: gateway.home.identity + "/ssh_host_ed25519")
        config.host = address.host
        config.port = address.port
        config.maxUploadBytes = Int64(maxUploadMib) << 20
        let exchange = GatewayExchange(gateway: gateway, maxUploadBytes: config.maxUploadBytes)
        let server = SFTPServer(configuration: config, exchange: exchange, logger: logger)
        do { try server.start() } catch let e as SFTPServerError {
            throw ClaimGateError(.io, e.message)
        }
        print("sftp: listening on \(address.host):\(server.boundPort) (host key \(try gateway.identity.sshHost().fingerprint))")
        let httpsAddress = ListenAddress(https)!
        var apiConfig = PartnerAPIServer.Configuration(
            certificateChainDER: [try gateway.identity.tls().der, gateway.identity.ca.der],
            privateKeyPEM: Array(try Data(contentsOf: URL(fileURLWithPath: gateway.home.identity + "/" + GatewayIdentity.File.tlsKey))))
        apiConfig.host = httpsAddress.host
        apiConfig.port = httpsAddress.port
        apiConfig.idleTimeoutSeconds = httpsIdleTimeout
        let api = PartnerAPIServer(configuration: apiConfig, exchange: exchange, logger: logger) { port in
            print("https: listening on \(httpsAddress.host):\(port) (client certificate required)")
            fflush(nil)
        }
        let adminAddress = ListenAddress(admin)!
        let adminServer: AdminServer
        do {
            adminServer = try AdminServer(host: adminAddress.host, port: adminAddress.port, logger: logger,
                                          metrics: { try gateway.prometheusMetrics() }) { port in
                print("admin: listening on http://\(adminAddress.host):\(port) (/healthz, /metrics)")
                fflush(nil)
            }
        } catch let e as AdminServerError {
            server.stop()
            throw ClaimGateError(.invalidArgument, e.message)
        }
        let deliveries = DeliveryWorker(gateway: gateway, retry: RetryPolicy(base: retryBase), interval: min(2, retryBase))
        let group = ServiceGroup(configuration: .init(
            // Stopped in reverse order: the checkpointer goes last, so its final checkpoint seals
            // every entry the others wrote while stopping.
            services: [.init(service: AuditCheckpointer(gateway: gateway, interval: .seconds(auditInterval))),
                       .init(service: CertificateWatch(gateway: gateway, logger: logger)),
                       .init(service: StartedService(server)), .init(service: api), .init(service: adminServer),
                       .init(service: deliveries),
                       .init(service: PurgeJob(gateway: gateway, interval: .seconds(purgeInterval), inboundRetentionDays: inboundRetentionDays))],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            server.stop()
            throw ClaimGateError(.io, "serve stopped: \(error). Check that --https \(https) and --admin \(admin) are free (port 0 picks one).")
        }
        print("stopped")
    }
}

/// Wraps a server that was started before the group (to report its port): the group only waits
/// for shutdown and stops it.
struct StartedService: Service {
    let server: SFTPServer
    init(_ server: SFTPServer) { self.server = server }
    func run() async throws {
        try? await gracefulShutdown()
        server.stop()
    }
}

struct ListenAddress {
    let host: String
    let port: Int
    init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port), colon != text.startIndex else { return nil }
        host = String(text[..<colon])
        self.port = port
    }
}
