import Foundation

/// Everything `claimgate serve` is told: where each listener binds and how often its jobs run.
/// Every field has the default `serve` documents.
public struct ServeConfiguration: Sendable {
    /// A listen address, `HOST:PORT`; port 0 picks a free port.
    public struct Address: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) { self.host = host; self.port = port }

        /// Parses `HOST:PORT` (the last colon splits, so `[::1]:22` style hosts keep theirs).
        public init?(_ text: String) {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
                  (0...65535).contains(port), colon != text.startIndex else { return nil }
            host = String(text[..<colon])
            self.port = port
        }
        public var description: String { "\(host):\(port)" }
    }

    /// The partners' SFTP server.
    public var sftp = Address(host: "127.0.0.1", port: 2222)
    /// The partners' HTTPS API (mutual TLS).
    public var https = Address(host: "127.0.0.1", port: 8443)
    /// The local admin listener (`/healthz`, `/metrics`): plain HTTP, loopback only.
    public var admin = Address(host: "127.0.0.1", port: 9090)
    /// The operator API (mutual TLS, operator certificates only); nil: not started.
    public var operatorAPI: Address? = nil
    /// The web console (HTTPS with the gateway's TLS certificate, password + TOTP logins); nil:
    /// not started.
    public var console: Address? = nil
    /// The largest accepted upload, in bytes.
    public var maxUploadBytes: Int64 = 512 << 20
    /// The first retry delay of a failed push, in seconds; doubles on each failure up to an hour.
    public var retryBase: Double = 30
    /// How often new audit entries are sealed with a signed checkpoint (also at shutdown), in seconds.
    public var auditInterval = 60
    /// How often expired and recalled bundles are purged, in seconds.
    public var purgeInterval = 600
    /// An HTTPS connection that completes no handshake or request for this long is closed, in seconds.
    public var httpsIdleTimeout = 60
    /// Inbound reports' documents are kept this many days.
    public var inboundRetentionDays = 90

    public init() {}
}
