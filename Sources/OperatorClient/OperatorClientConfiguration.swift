import ClaimGateCore
import Foundation

/// Where a command line in remote mode sends its operator commands: the gateway's operator API
/// (`serve --operator-api`), the operator's certificate and key, and the gateway CA to trust.
///
/// Set by flags (`--gateway`, `--operator-cert`, `--operator-key`, `--gateway-ca`) or, for each
/// one not given, by `CLAIMGATE_GATEWAY`, `CLAIMGATE_OPERATOR_CERT`, `CLAIMGATE_OPERATOR_KEY`
/// and `CLAIMGATE_GATEWAY_CA`. Remote mode is on when a gateway URL is set; the other three are
/// then required.
public struct OperatorClientConfiguration: Sendable, Equatable {
    /// `https://host:port`, without a path.
    public var gateway: URL
    /// The operator's certificate chain (PEM: its certificate, then the operator CA).
    public var certificateFile: String
    /// Its private key (PEM).
    public var keyFile: String
    /// The gateway CA (`claimgate identity --pem`), the only root the gateway's TLS certificate may chain to.
    public var gatewayCAFile: String

    public init(gateway: URL, certificateFile: String, keyFile: String, gatewayCAFile: String) {
        self.gateway = gateway
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.gatewayCAFile = gatewayCAFile
    }

    /// The environment variables, by the flag each stands for.
    public static let variables: [(flag: String, variable: String)] = [
        ("--gateway", "CLAIMGATE_GATEWAY"), ("--operator-cert", "CLAIMGATE_OPERATOR_CERT"),
        ("--operator-key", "CLAIMGATE_OPERATOR_KEY"), ("--gateway-ca", "CLAIMGATE_GATEWAY_CA"),
    ]

    /// The remote configuration the flags and the environment give, or nil for local use (no
    /// gateway URL set).
    /// - Throws: `invalid-argument` naming what is missing or malformed.
    public static func resolve(gateway: String?, certificate: String?, key: String?, gatewayCA: String?,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> OperatorClientConfiguration? {
        func value(_ flag: String?, _ variable: String) -> String? {
            let v = flag ?? environment[variable]
            return v?.isEmpty == false ? v : nil
        }
        guard let raw = value(gateway, "CLAIMGATE_GATEWAY") else { return nil }
        guard let url = URL(string: raw), url.scheme == "https", let host = url.host, !host.isEmpty,
              url.path.isEmpty || url.path == "/", url.query == nil, url.user == nil else {
            throw ClaimGateError(.invalidArgument, "The gateway '\(raw.prefix(80))' is not an https://HOST:PORT address: give the operator API's address, as `claimgate serve --operator-api` prints it.")
        }
        let given = [value(certificate, "CLAIMGATE_OPERATOR_CERT"), value(key, "CLAIMGATE_OPERATOR_KEY"), value(gatewayCA, "CLAIMGATE_GATEWAY_CA")]
        let missing = zip(variables.dropFirst(), given).filter { $0.1 == nil }.map { "\($0.0.flag) (or $\($0.0.variable))" }
        guard missing.isEmpty else {
            throw ClaimGateError(.invalidArgument, "The gateway \(raw.prefix(80)) is set, so commands run through its operator API; give also \(missing.joined(separator: ", ")): your operator certificate, its key, and the gateway CA (`claimgate identity --pem`).")
        }
        var base = raw
        while base.hasSuffix("/") { base.removeLast() }
        return OperatorClientConfiguration(gateway: URL(string: base)!, certificateFile: given[0]!, keyFile: given[1]!, gatewayCAFile: given[2]!)
    }
}
