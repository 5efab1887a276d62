import ArgumentParser
import ClaimGateApp
import ClaimGateCore
import Foundation
import Logging
import Operations

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
    @Option(help: ArgumentHelp("Admin listen address (/healthz, /readyz, /metrics): plain HTTP, loopback only; port 0 picks a free port.", valueName: "HOST:PORT"))
    var admin = "127.0.0.1:9090"
    @Option(name: .customLong("operator-api"), help: ArgumentHelp("Operator API listen address (mutual TLS, operator certificates only; docs/operator-api.md); not started unless given; port 0 picks a free port.", valueName: "HOST:PORT"))
    var operatorAPI: String?
    @Option(help: ArgumentHelp("Web console listen address (HTTPS with the gateway's TLS certificate; operators log in with password and TOTP; docs/console.md); not started unless given; port 0 picks a free port.", valueName: "HOST:PORT"))
    var console: String?
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
    @Option(help: ArgumentHelp("Log lines on standard error as text or as JSON Lines (level: info, or CLAIMGATE_LOG).", valueName: "text|json"))
    var logFormat: LogOutput.Format = .text

    func validate() throws {
        for (name, value) in [("--sftp", sftp), ("--https", https), ("--admin", admin), ("--operator-api", operatorAPI ?? "0.0.0.0:0"),
                              ("--console", console ?? "0.0.0.0:0")] where ServeConfiguration.Address(value) == nil {
            throw ValidationError("\(name) '\(value)' is not HOST:PORT (e.g. 127.0.0.1:2222).")
        }
        guard purgeInterval > 0, inboundRetentionDays > 0 else { throw ValidationError("--purge-interval and --inbound-retention-days must be more than 0.") }
        guard (1...3600).contains(auditInterval) else { throw ValidationError("--audit-interval must be 1 to 3600 seconds.") }
        guard maxUploadMib > 0 else { throw ValidationError("--max-upload-mib must be more than 0.") }
        guard (1...86_400).contains(httpsIdleTimeout) else { throw ValidationError("--https-idle-timeout must be 1 to 86400 seconds.") }
    }

    /// The flags as the server's configuration.
    var serveConfiguration: ServeConfiguration {
        var c = ServeConfiguration()
        c.sftp = ServeConfiguration.Address(sftp)!
        c.https = ServeConfiguration.Address(https)!
        c.admin = ServeConfiguration.Address(admin)!
        c.operatorAPI = operatorAPI.flatMap(ServeConfiguration.Address.init)
        c.console = console.flatMap(ServeConfiguration.Address.init)
        c.maxUploadBytes = Int64(maxUploadMib) << 20
        c.retryBase = retryBase
        c.auditInterval = auditInterval
        c.purgeInterval = purgeInterval
        c.httpsIdleTimeout = httpsIdleTimeout
        c.inboundRetentionDays = inboundRetentionDays
        return c
    }

    func run() async throws {
        let logger = Logger(label: "claimgate.serve")
        let server = GatewayServer(configuration: serveConfiguration, gateway: try home.gateway(), logger: logger)
        try await server.run { line in
            print(line)
            fflush(nil)
        }
        print("stopped")
    }
}

extension LogOutput.Format: ExpressibleByArgument {}
