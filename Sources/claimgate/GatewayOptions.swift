import ArgumentParser
import ClaimGateCore
import Foundation
import Logging
import OperatorClient
import Operations

/// Where an operator command runs: on the local home (`--home`, the default), or through a
/// remote gateway's operator API (`--gateway` or `$CLAIMGATE_GATEWAY`, with the operator's
/// certificate and key and the gateway CA). Remote, a command prints what it prints locally and
/// exits with the same status; it needs no home, and the files it reads are sent by it, never
/// read by the gateway from a path.
struct GatewayOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Gateway state folder (default $CLAIMGATE_HOME, else ./.claimgate).", valueName: "DIR"))
    var home: String?
    @Option(name: .customLong("gateway"), help: ArgumentHelp("Run the command through this gateway's operator API instead of a local home (default $CLAIMGATE_GATEWAY).", valueName: "https://HOST:PORT"))
    var gatewayURL: String?
    @Option(name: .customLong("operator-cert"), help: ArgumentHelp("With --gateway: your operator certificate (default $CLAIMGATE_OPERATOR_CERT).", valueName: "NAME.pem"))
    var operatorCertificate: String?
    @Option(name: .customLong("operator-key"), help: ArgumentHelp("With --gateway: its private key (default $CLAIMGATE_OPERATOR_KEY).", valueName: "NAME.key"))
    var operatorKey: String?
    @Option(name: .customLong("gateway-ca"), help: ArgumentHelp("With --gateway: the gateway CA, `claimgate identity --pem` (default $CLAIMGATE_GATEWAY_CA).", valueName: "PEM"))
    var gatewayCA: String?

    var local: HomeOption { HomeOption(home: home) }
    var resolved: Home { local.resolved }
    func gateway() throws -> Gateway { try local.gateway() }
    func readOnlyGateway() throws -> Gateway { try local.readOnlyGateway() }

    /// The operator API client when remote mode is on (a gateway URL is set), else nil.
    /// - Throws: `invalid-argument` when remote settings are incomplete or `--home` is given too.
    func remote() throws -> OperatorAPIClient? {
        guard let configuration = try OperatorClientConfiguration.resolve(
            gateway: gatewayURL, certificate: operatorCertificate, key: operatorKey, gatewayCA: gatewayCA) else { return nil }
        if home != nil {
            throw ClaimGateError(.invalidArgument, "Give either --home (a local gateway) or --gateway (a remote one's operator API), not both; unset CLAIMGATE_GATEWAY to work on a local home.")
        }
        return try RemoteClients.open(configuration)
    }
}

extension HomeOption {
    init(home: String?) {
        self.init()
        self.home = home
    }
}
