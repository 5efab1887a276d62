import ArgumentParser
import ClaimGateApp
import Operations
import DevTools
import ClaimGateCore
import Foundation

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the gateway's store and identity (CA, signing, TLS and encryption certificates, SSH keys).",
        discussion: "Generates everything by default. To use certificates issued elsewhere, pass --ca-cert and the pairs to import; pairs you leave out are issued by --ca-key.")

    @OptionGroup var home: HomeOption
    @Option(help: "Gateway id partners see as the sender ([a-z0-9-]{2,64}).") var gatewayID = "claimgate"
    @Option(help: "Import: the CA certificate that issued the gateway certificates.") var caCert: String?
    @Option(help: "Import: the CA's private key, to issue certificates you do not import.") var caKey: String?
    @Option(help: "Import: the bundle signing certificate.") var signingCert: String?
    @Option(help: "Import: its private key.") var signingKey: String?
    @Option(help: "Import: the TLS server certificate.") var tlsCert: String?
    @Option(help: "Import: its private key.") var tlsKey: String?
    @Option(help: "Import: the certificate partners encrypt inbound reports to.") var encryptionCert: String?
    @Option(help: "Import: its private key.") var encryptionKey: String?
    @Option(help: ArgumentHelp("Keep the store in this PostgreSQL database, shared by several gateway nodes, instead of the home's SQLite file: postgresql://USER@HOST:PORT/DB[?sslmode=require|verify-full]. The password comes from PGPASSWORD and is never recorded.", valueName: "url")) var database: String?

    func run() throws {
        var m = GatewayIdentity.Import()
        m.caCert = caCert; m.caKey = caKey; m.signingCert = signingCert; m.signingKey = signingKey
        m.tlsCert = tlsCert; m.tlsKey = tlsKey; m.encryptionCert = encryptionCert; m.encryptionKey = encryptionKey
        let g = try Gateway.initialise(home: home.resolved, gatewayID: gatewayID, material: m, databaseURL: database, by: localPrincipal)
        print("Initialised gateway '\(g.identity.gatewayID)' in \(g.home.root)")
        if database != nil { print("  database: \(g.databaseLocation) (every node runs with this --home)") }
        print("  signing certificate SHA-256: \(g.identity.signing.sha256Fingerprint)")
        print("  SSH host key: \(try g.identity.sshHost().fingerprint)")
        print("Next: give partners `claimgate identity --pem`, then `claimgate partner add FILE.yaml`.")
    }
}

struct IdentityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identity", abstract: "Print the gateway's public identity for partners.")

    @OptionGroup var home: HomeOption
    @Flag(help: "The signing certificate followed by the gateway CA (PEM): partners trust this for signatures and TLS.") var pem = false
    @Flag(help: "The SSH host public key line.") var sshHost = false
    @Flag(help: "The SSH public key the gateway uses when it pushes to partners.") var sshClient = false
    @Flag(help: "The certificate partners encrypt inbound reports to (PEM).") var encryptionPem = false
    @Flag(help: "The audit public key (PEM) that checks audit checkpoints: give it to auditors for `audit verify --key`.") var auditPem = false
    @Flag(help: "The operator CA that issues operators' client certificates, followed by the gateway CA that issued it (PEM): `openssl verify -CAfile` checks an operator certificate against it. Never a partner's trust anchor.") var operatorCaPem = false
    @Flag(help: "Print fingerprints and validity as JSON.") var json = false

    func validate() throws {
        let n = [pem, sshHost, sshClient, encryptionPem, auditPem, operatorCaPem, json].filter { $0 }.count
        guard n == 1 else { throw ValidationError("Choose exactly one of --pem, --ssh-host, --ssh-client, --encryption-pem, --audit-pem, --operator-ca-pem, --json.") }
    }

    func run() throws {
        let gateway = try home.gateway()
        let id = gateway.identity
        if auditPem { print(try gateway.auditPublicKeyPEM(), terminator: "") }
        if operatorCaPem { print(try gateway.operatorCAPEM(by: localPrincipal), terminator: "") }
        if pem { print(id.trustPEM, terminator: "") }
        if sshHost { print(try id.sshHost().line) }
        if sshClient { print(try id.sshClient().line) }
        if encryptionPem { print(try id.encryption().pem, terminator: "") }
        if json {
            struct View: Encodable {
                let gateway_id: String, signing_sha256: String, signing_not_after: String, ca_sha256: String
                let tls_sha256: String, tls_not_after: String, encryption_sha256: String
                let ssh_host: String, ssh_host_fingerprint: String, ssh_client: String
            }
            try printJSON(View(gateway_id: id.gatewayID, signing_sha256: id.signing.sha256Fingerprint,
                               signing_not_after: Timestamp.format(id.signing.notAfter), ca_sha256: id.ca.sha256Fingerprint,
                               tls_sha256: try id.tls().sha256Fingerprint, tls_not_after: Timestamp.format(try id.tls().notAfter),
                               encryption_sha256: try id.encryption().sha256Fingerprint, ssh_host: try id.sshHost().line,
                               ssh_host_fingerprint: try id.sshHost().fingerprint, ssh_client: try id.sshClient().line))
        }
    }
}

struct DevPKICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-pki",
        abstract: "Generate development certificates and keys for the gateway and the sample partners (never for production).")

    @Option(help: ArgumentHelp("Output folder (keep it out of git).", valueName: "DIR")) var out = "certs/dev"

    func run() throws {
        let written = try DevPKI.generate(into: out)
        if written.isEmpty { print("Nothing to do: every folder in \(out) exists (delete one to regenerate it).") }
        written.forEach { print("generated \($0)") }
    }
}

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the gateway's main job end to end on the embedded default, printing each step.")

    @Option(help: ArgumentHelp("Demo gateway home (recreated on each run).", valueName: "DIR")) var home = ".claimgate-demo"
    @Option(help: ArgumentHelp("Dev PKI folder (created if missing).", valueName: "DIR")) var pki = "certs/dev"
    @Option(help: ArgumentHelp("Folder of partner agreement files.", valueName: "DIR")) var partners = "partners"

    func run() throws {
        try Demo.run(.init(home: Home.resolve(option: home), pkiDirectory: pki, partnersDirectory: partners, principal: localPrincipal)) { print($0) }
    }
}
