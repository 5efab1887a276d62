import ClaimGateTesting
import Foundation
import Testing

/// A gateway home in its own temporary folder, driven the way an operator and its partners drive
/// it: the `claimgate` binary, `claimgate serve` on 127.0.0.1 (port 0), stock `curl` and `sftp`.
///
/// Each step is a method of its own, so a suite composes only what it needs; a suite subclasses it
/// for steps that are its own (a receiver to push to, a partner CA that revokes). The server
/// started by `serve` is stopped when the fixture is released.
class GatewayUnderTest: @unchecked Sendable {
    /// The standard partner that pulls over SFTP, and the one that pulls over HTTPS
    /// (`onboardStandardPartners`); the default identity of `sftp` and of `curl`.
    static let sftpPartner = "acme-assessors"
    static let httpsPartner = "st-marys-hospital"

    let dir: TemporaryDirectory
    var home: String { dir.path + "/home" }
    /// The dev PKI (`claimgate dev-pki`): each partner's CA, certificates and keys.
    var pki: String { dir.path + "/pki" }
    var database: String { home + "/claimgate.sqlite" }
    /// The gateway's CA certificate (`identity --pem`), which partners trust.
    var trust: String { dir.path + "/gateway.pem" }
    /// The `claimgate serve` started by `serve`, and the ports it listens on.
    var server: ServerProcess?
    var httpsPort = "", sftpPort = "", adminPort = ""
    /// The operator API's port, when `serve` was given `--operator-api` (`serveWithOperatorAPI`).
    var operatorAPIPort = ""
    /// The web console's port, when `serve` was given `--console`.
    var consolePort = ""

    /// A dev PKI and an `init`ed home in a new temporary folder named after `label`, with the
    /// gateway's certificate in `trust`.
    /// - Parameter database: a PostgreSQL URL for `init --database` (several nodes), else the
    ///   home's SQLite file.
    init(_ label: String, database: String? = nil) throws {
        dir = TemporaryDirectory(label)
        try ok(ClaimgateBinary.run(["dev-pki", "--out", pki]))
        try ok(ClaimgateBinary.run(["init", "--home", home] + (database.map { ["--database", $0] } ?? [])))
        let identity = try ClaimgateBinary.run(["identity", "--pem", "--home", home])
        try ok(identity)
        try dir.write("gateway.pem", identity.stdout)
    }

    deinit { _ = server?.stop() }

    /// Requires that `r` succeeded, with its exit status and output as the message.
    func ok(_ r: Shell.Result, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try #require(r.succeeded, "exit \(r.status): \(r.stdout) \(r.stderr)", sourceLocation: sourceLocation)
    }

    // MARK: Onboarding

    /// Writes `yaml` to a new agreement file in the folder and returns its path.
    func agreementFile(_ yaml: String) throws -> String {
        try dir.write("agreement-\(UUID().uuidString.prefix(8)).yaml", yaml)
    }

    /// `claimgate partner add` with `yaml`; the result, so that a refusal can be examined.
    @discardableResult
    func addPartner(_ yaml: String) throws -> Shell.Result {
        try ClaimgateBinary.run(["partner", "add", try agreementFile(yaml), "--home", home])
    }

    /// Onboards `yaml`, requiring that it is accepted.
    func onboard(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try ok(addPartner(yaml), sourceLocation: sourceLocation)
    }

    /// Onboards the standard partners: `sftpPartner` pulling over SFTP (agreement
    /// `<reference>-1`) and `httpsPartner` pulling over HTTPS (`<reference>-2`).
    func onboardStandardPartners(reference: String) throws {
        try onboard(Fixtures.sftpPullAgreement(id: Self.sftpPartner, pki: pki, reference: "\(reference)-1"))
        try onboard(Fixtures.stMarysAgreement(pki: pki, reference: "\(reference)-2"))
    }

    // MARK: The gateway

    /// `claimgate send` of `document` to `partner` for claim assessment, for two days unless
    /// `lifetime` says otherwise; the bundle id (stdout) and the whole result.
    @discardableResult
    func send(_ document: String, to partner: String, claim: String,
              lifetime: [String] = ["--ttl", "2d"]) throws -> (id: String, result: Shell.Result) {
        let r = try ClaimgateBinary.run(["send", "--home", home, "--partner", partner, "--claim", claim,
                                         "--purpose", "claim-assessment"] + lifetime + [document])
        return (r.stdout.trimmingCharacters(in: .whitespacesAndNewlines), r)
    }

    /// Starts `claimgate serve` with SFTP, HTTPS and the admin endpoint on 127.0.0.1, port 0, plus
    /// `extra` flags; waits until all three listen, and writes `known_hosts` for the SFTP host key.
    @discardableResult
    func serve(extra: [String] = []) throws -> ServerProcess {
        let s = try ServerProcess([ClaimgateBinary.path, "serve", "--home", home, "--sftp", "127.0.0.1:0", "--https", "127.0.0.1:0",
                                   "--admin", "127.0.0.1:0"] + extra, logPath: dir.file("serve-\(UUID().uuidString.prefix(6)).log"))
        server = s
        httpsPort = try s.waitFor("https: listening on 127\\.0\\.0\\.1:([0-9]+)")
        sftpPort = try s.waitFor("sftp: listening on 127\\.0\\.0\\.1:([0-9]+)")
        adminPort = try s.waitFor("admin: listening on http://127\\.0\\.0\\.1:([0-9]+)")
        if extra.contains("--operator-api") {
            operatorAPIPort = try s.waitFor("operator-api: listening on 127\\.0\\.0\\.1:([0-9]+)")
        }
        if extra.contains("--console") {
            consolePort = try s.waitFor("console: listening on 127\\.0\\.0\\.1:([0-9]+)")
        }
        let hostKey = try String(contentsOfFile: home + "/identity/ssh_host_ed25519.pub", encoding: .utf8)
            .split(separator: " ").prefix(2).joined(separator: " ")
        try dir.write("known_hosts", "[127.0.0.1]:\(sftpPort) \(hostKey)\n")
        return s
    }

    /// `claimgate deliveries --json`: the entry for bundle `id`, empty when there is none.
    func delivery(_ id: String) throws -> [String: Any] {
        let r = try ClaimgateBinary.run(["deliveries", "--home", home, "--json"])
        let list = try JSONSerialization.jsonObject(with: r.stdoutData) as? [[String: Any]] ?? []
        return list.first { $0["bundle"] as? String == id } ?? [:]
    }

    /// Waits up to `seconds` for bundle `id` to be delivered; its `delivery` entry as it then stands.
    func waitDelivered(_ id: String, seconds: Double = 20) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline, (try delivery(id))["state"] as? String != "delivered" { usleep(200_000) }
        return try delivery(id)
    }

    /// Runs `query` on the gateway's database with Python's sqlite3, from outside the gateway:
    /// one row a line, columns joined by `|`.
    func sql(_ query: String) throws -> String {
        let r = try Shell.run(["python3", "-c", """
            import sqlite3, sys
            for row in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print("|".join("" if x is None else str(x) for x in row))
            """, database, query])
        try ok(r)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: The partners' side

    /// The partner API's URL for `path`.
    func url(_ path: String) -> String { "https://127.0.0.1:\(httpsPort)\(path)" }

    /// Stock `curl` with a client certificate and key, trusting the gateway's CA.
    func curl(_ args: [String], cert: String, key: String) throws -> Shell.Result {
        try Shell.run(["curl", "-sS", "--cacert", trust, "--cert", cert, "--key", key] + args)
    }

    /// Stock `curl` as `partner`, with its dev-PKI client certificate.
    func curl(_ args: [String], as partner: String = GatewayUnderTest.httpsPartner) throws -> Shell.Result {
        try curl(args, cert: "\(pki)/\(partner)/tls-client.pem", key: "\(pki)/\(partner)/tls-client.key")
    }

    /// The HTTP status of a GET of `path` with a client certificate and key ("000" when the
    /// handshake failed).
    func curlStatus(_ path: String, cert: String, key: String) throws -> String {
        try curl(["-o", "/dev/null", "-w", "%{http_code}", url(path)], cert: cert, key: key).stdout
    }

    /// The HTTP status of a GET of `path` as `partner` ("000" when the handshake failed).
    func curlStatus(_ path: String, as partner: String = GatewayUnderTest.httpsPartner) throws -> String {
        try curl(["-o", "/dev/null", "-w", "%{http_code}", url(path)], as: partner).stdout
    }

    /// Stock `sftp -b` running `batch` as `partner` with its dev-PKI SSH key, from the folder (local
    /// names are files there), checking the gateway's host key against `known_hosts`.
    func sftp(_ batch: String, as partner: String = GatewayUnderTest.sftpPartner) throws -> Shell.Result {
        let file = try dir.write("batch-\(UUID().uuidString.prefix(8))", batch + "\n")
        return try Shell.run(["sftp", "-b", file, "-P", sftpPort, "-i", "\(pki)/\(partner)/ssh_ed25519",
                              "-o", "UserKnownHostsFile=\(dir.path)/known_hosts", "-o", "StrictHostKeyChecking=yes",
                              "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "\(partner)@127.0.0.1"], directory: dir.path)
    }

    /// The admin endpoint's `/metrics`.
    func metrics() throws -> String {
        try Shell.run(["curl", "-sS", "http://127.0.0.1:\(adminPort)/metrics"]).stdout
    }

    // MARK: Operators and the operator API

    /// `claimgate serve` with the operator API on 127.0.0.1, port 0, too.
    @discardableResult
    func serveWithOperatorAPI(extra: [String] = []) throws -> ServerProcess {
        try serve(extra: ["--operator-api", "127.0.0.1:0"] + extra)
    }

    /// `claimgate operator add NAME --role ROLES …` at the shell; the certificate and key it wrote.
    func addOperator(_ name: String, roles: String, extra: [String] = []) throws -> (cert: String, key: String) {
        let out = dir.path + "/operators"
        try ok(ClaimgateBinary.run(["operator", "add", name, "--role", roles, "--out", out, "--home", home] + extra))
        return (out + "/\(name).pem", out + "/\(name).key")
    }

    /// The operator API's URL for `path`.
    func operatorURL(_ path: String) -> String { "https://127.0.0.1:\(operatorAPIPort)\(path)" }

    /// Stock `curl` against the operator API with an operator's certificate (or none), trusting
    /// the gateway's CA; `-w` appends the HTTP status on a last line of its own.
    func operatorCurl(_ path: String, _ args: [String] = [], as credential: (cert: String, key: String)?)
        throws -> (status: String, body: String, contentType: String, result: Shell.Result) {
        let identity = credential.map { ["--cert", $0.cert, "--key", $0.key] } ?? []
        let r = try Shell.run(["curl", "-sS", "--cacert", trust] + identity + ["-w", "\n%{content_type}\n%{http_code}"] + args + [operatorURL(path)])
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (String(lines.last ?? ""), lines.dropLast(2).joined(separator: "\n"), lines.count > 1 ? String(lines[lines.count - 2]) : "", r)
    }

    /// The SHA-256 of a certificate's DER, lowercase hex: how the audit trail names it.
    func certificateSHA256(_ pem: String) throws -> String {
        let r = try Shell.bash("openssl x509 -in '\(pem)' -outform DER | sha256sum | cut -d' ' -f1")
        try ok(r)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: Tools

    /// Stock `openssl`, required to succeed; its output, trimmed.
    @discardableResult
    func openssl(_ args: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let r = try Shell.run(["openssl"] + args)
        try #require(r.succeeded, "openssl \(args.joined(separator: " ")): \(r.stderr)", sourceLocation: sourceLocation)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The SHA-256 of a file, in hex (`sha256sum`).
    func sha256(_ path: String) throws -> String { String(try Shell.run(["sha256sum", path]).stdout.prefix(64)) }
}
