import ClaimGateTesting
import Foundation
import Testing

/// The one session rule, over both transports, with real clients: a partner's open session lists
/// its bundle, then the agreement or the bundle changes under it, and the very next requests on
/// the same session (stock `sftp` in one batch, one kept-alive Python `http.client` connection)
/// must neither list nor serve the bundle, and the refusal is recorded with its closed code and
/// attributed to the partner.
@Suite struct SessionRuleMatrixTests {
    enum Change: String, CaseIterable, Sendable {
        case none = "nothing changes"
        case suspended = "partner suspended"
        case removed = "partner removed"
        case credentialWithdrawn = "key or certificate withdrawn"
        case revoked = "client certificate revoked"
        case transportWithdrawn = "transport withdrawn from delivery.pull"
        case purposeWithdrawn = "bundle's purpose withdrawn"
        case documentTypeWithdrawn = "bundle's document type withdrawn"
        case expired = "bundle expired"
        case recalled = "bundle recalled"
        case anotherPartnersBundle = "another partner's bundle"

        /// The code the refusal is recorded with: the session ends (a partner-level code), or the
        /// bundle is no longer available to it.
        var code: String? {
            switch self {
            case .none: nil
            case .suspended: "partner-suspended"
            case .removed: "partner-removed"
            case .credentialWithdrawn: "unknown-key"
            case .revoked: "certificate-revoked"
            case .transportWithdrawn: "transport-not-allowed"
            case .purposeWithdrawn, .documentTypeWithdrawn, .expired, .recalled, .anotherPartnersBundle: "bundle-unavailable"
            }
        }

        /// Whether the change ends the session rather than withholding one bundle.
        var endsSession: Bool { code != nil && code != "bundle-unavailable" }
    }

    enum Wire: String, CaseIterable, Sendable { case sftp, https }

    /// Every change on both transports; a CRL revokes certificates, which only HTTPS uses.
    static let cases: [(Change, Wire)] = Change.allCases.flatMap { c in
        Wire.allCases.filter { !(c == .revoked && $0 == .sftp) }.map { (c, $0) }
    }

    static let partner = "acme-assessors"
    static let other = "st-marys-hospital"

    final class Setup: GatewayUnderTest, @unchecked Sendable {
        init() throws { try super.init("claimgate-session-rule") }

        /// acme-assessors' agreement: both transports, two purposes, PDFs and JPEGs; each
        /// argument replaces one part of it.
        func agreement(purposes: String = "[claim-assessment, fraud-review]", types: String = "[application/pdf, image/jpeg]",
                       pull: String = "[sftp, https]", sshKeys: String? = nil, certificates: String = "") throws -> String {
            let p = "\(pki)/\(SessionRuleMatrixTests.partner)"
            return try agreementFile("""
                id: \(SessionRuleMatrixTests.partner)
                name: ACME Assessors
                role: assessor
                agreement: {reference: DSA-MATRIX, purposes: \(purposes), document_types: \(types), max_retention_days: 30, valid_until: 2099-12-31}
                certificates: {encryption: \(p)/encryption.pem, trust_anchor: \(p)/ca.pem\(certificates)}
                ssh: {authorized_keys_file: \(sshKeys ?? p + "/ssh_ed25519.pub")}
                delivery: {pull: \(pull)}
                """)
        }

        /// A CRL of acme-assessors' CA revoking its dev-PKI client certificate, made with the
        /// stock `openssl ca`.
        func crlRevokingTheClientCertificate() throws -> String {
            let ca = dir.path + "/ca", p = "\(pki)/\(SessionRuleMatrixTests.partner)"
            try dir.write("ca/index.txt", "")
            try dir.write("ca/crlnumber", "1000\n")
            let cnf = try dir.write("ca/openssl.cnf", """
                [ ca ]
                default_ca = partner_ca
                [ partner_ca ]
                database = \(ca)/index.txt
                crlnumber = \(ca)/crlnumber
                certificate = \(p)/ca.pem
                private_key = \(p)/ca.key
                default_md = sha256
                default_crl_days = 7

                """)
            try openssl(["ca", "-config", cnf, "-revoke", "\(p)/tls-client.pem"])
            let crl = dir.file("revoked.crl.pem")
            try openssl(["ca", "-config", cnf, "-gencrl", "-out", crl])
            return crl
        }

        /// The shell script that makes `change` happen while the client's session is open, then
        /// waits until a running `serve` must have seen it (the partner snapshot is at most a
        /// second old).
        func script(for change: Change, wire: Wire, bundle: String, expires: Date) throws -> String {
            let cg = "'\(ClaimgateBinary.path)'", h = "--home '\(home)'"
            let command: String
            switch change {
            case .none, .anotherPartnersBundle: command = "true"
            case .suspended: command = "\(cg) partner suspend \(SessionRuleMatrixTests.partner) \(h)"
            case .removed: command = "\(cg) partner remove \(SessionRuleMatrixTests.partner) --force --reason matrix \(h)"
            case .credentialWithdrawn:
                let updated: String
                switch wire {
                case .sftp:
                    try ok(Shell.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir.file("another-key")]))
                    updated = try agreement(sshKeys: dir.file("another-key.pub"))
                case .https:
                    // Pinned to another certificate: the partner's own still chains to its anchor
                    // but is no longer one its agreement lists.
                    let fp = try openssl(["x509", "-noout", "-fingerprint", "-sha256", "-in", "\(pki)/\(SessionRuleMatrixTests.other)/tls-client.pem"])
                    updated = try agreement(certificates: ", tls_client: {fingerprints: ['\(fp.split(separator: "=").last ?? "")']}")
                }
                command = "\(cg) partner update '\(updated)' \(h)"
            case .revoked:
                command = "\(cg) partner update '\(try agreement(certificates: ", crl: \(try crlRevokingTheClientCertificate())"))' \(h)"
            case .transportWithdrawn:
                command = "\(cg) partner update '\(try agreement(pull: wire == .sftp ? "[https]" : "[sftp]"))' \(h)"
            case .purposeWithdrawn:
                command = "\(cg) partner update '\(try agreement(purposes: "[claim-assessment]"))' \(h)"
            case .documentTypeWithdrawn:
                command = "\(cg) partner update '\(try agreement(types: "[application/pdf]"))' \(h)"
            case .expired:
                command = "python3 -c 'import time; time.sleep(max(0, \(expires.timeIntervalSince1970 + 0.3) - time.time()))'"
            case .recalled:
                command = "\(cg) bundle recall \(bundle) --reason matrix \(h)"
            }
            return try dir.write("change.sh", "set -e\n\(command) >\(dir.file("change.log")) 2>&1\nsleep 1.2\n")
        }
    }

    /// What the partner's client saw: its bundle listed before the change, listed after it, and
    /// downloaded after it.
    struct Seen { var listedBefore = false, listedAfter = false, downloadedAfter = false, detail = "" }

    @Test(arguments: cases)
    func theNextRequestAfterAChangeFollowsTheAgreementAsItStands(_ change: Change, _ wire: Wire) throws {
        let s = try Setup()
        try s.onboard(Fixtures.stMarysAgreement(pki: s.pki, reference: "DSA-MATRIX-2"))
        try s.ok(ClaimgateBinary.run(["partner", "add", try s.agreement(), "--home", s.home]))

        // The bundle: a PDF for claim assessment, unless the change is about its purpose, its
        // document type, its expiry or its partner.
        var files = [try s.dir.write("report.pdf", "%PDF-1.4\n" + String(repeating: "assessment ", count: 500))]
        if change == .documentTypeWithdrawn {
            files.append(try s.dir.write("photo.jpg", Data([0xFF, 0xD8, 0xFF, 0xE0]) + Data(repeating: 0x42, count: 2_000)))
        }
        let expires = Date().addingTimeInterval(15)
        let lifetime = change == .expired ? ["--expires", ISO8601DateFormatter().string(from: expires)] : ["--ttl", "2d"]
        let to = change == .anotherPartnersBundle ? Self.other : Self.partner
        let sent = try ClaimgateBinary.run(["send", "--home", s.home, "--partner", to, "--claim", "CLM-MATRIX",
                                            "--purpose", change == .purposeWithdrawn ? "fraud-review" : "claim-assessment"]
                                           + lifetime + files)
        try s.ok(sent)
        let bundle = sent.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try s.serve()
        let script = try s.script(for: change, wire: wire, bundle: bundle, expires: expires)

        let seen = try wire == .sftp ? sftp(s, bundle: bundle, change: script) : https(s, bundle: bundle, change: script)
        let log = (try? String(contentsOfFile: s.dir.file("change.log"), encoding: .utf8)) ?? ""
        #expect(!log.contains("rror"), "the change itself failed: \(log)")

        #expect(seen.listedBefore == (change != .anotherPartnersBundle), "\(seen.detail)")
        #expect(seen.listedAfter == (change == .none), "\(seen.detail)")
        #expect(seen.downloadedAfter == (change == .none), "\(seen.detail)")

        // The refusal is recorded with its code, attributed to the partner.
        let refusals = try s.sql("""
            SELECT action || ' ' || reason FROM event
            WHERE outcome = 'refused' AND partner_id = '\(Self.partner)' AND transport = '\(wire.rawValue)' ORDER BY seq
            """)
        if let code = change.code {
            #expect(refusals.split(separator: "\n").contains { $0.split(separator: " ").dropFirst().first.map { $0.hasPrefix(code) } == true },
                    "expected a refusal coded \(code): \(refusals)")
            if !change.endsSession {
                #expect(refusals.contains("access-refused bundle-unavailable: \(bundle)") || refusals.contains("bundle-unavailable: \(bundle).p7m"),
                        "the refused bundle is named: \(refusals)")
            }
        } else {
            #expect(refusals.isEmpty, "\(refusals)")
        }
        #expect(try ClaimgateBinary.run(["audit", "verify", "--home", s.home]).succeeded)
    }

    /// One stock `sftp` batch, one SSH session: list, change, list and fetch.
    private func sftp(_ s: Setup, bundle: String, change: String) throws -> Seen {
        let r = try s.sftp("""
            ls -1 /outbox
            !sh '\(change)'
            -ls -1 /outbox
            -get /outbox/\(bundle).p7m got.p7m
            """)
        let out = r.stdout
        let marker = out.range(of: "sftp> !sh")
        let before = marker.map { String(out[..<$0.lowerBound]) } ?? out
        let after = marker.map { String(out[$0.upperBound...]) } ?? ""
        return Seen(listedBefore: before.contains("\(bundle).p7m"),
                    listedAfter: after.components(separatedBy: "\(bundle).p7m").count > 2,  // the get's own echo names it once
                    downloadedAfter: FileManager.default.fileExists(atPath: s.dir.file("got.p7m")),
                    detail: "stdout: \(out) stderr: \(r.stderr)")
    }

    /// One kept-alive HTTPS connection (Python's `http.client`): list, change, list and fetch.
    private func https(_ s: Setup, bundle: String, change: String) throws -> Seen {
        let client = #"""
            import http.client, json, ssl, subprocess, sys
            port, trust, cert, key, bundle, change = sys.argv[1:7]
            ctx = ssl.create_default_context(cafile=trust)
            ctx.load_cert_chain(cert, key)
            conn = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx)
            def get(path):
                try:
                    conn.request("GET", path)
                    r = conn.getresponse()
                    return r.status, r.read().decode("utf-8", "replace")
                except Exception as e:
                    return 0, repr(e)
            s1, b1 = get("/v1/bundles")
            sock = conn.sock
            subprocess.run(["sh", change], check=True)
            s2, b2 = get("/v1/bundles")
            same = conn.sock is sock
            s3, b3 = get("/v1/bundles/" + bundle)
            print(json.dumps({"before": s1 == 200 and bundle in b1, "after": s2 == 200 and bundle in b2,
                              "got": s3 == 200, "statuses": [s1, s2, s3], "same_connection": same, "body": b2[:300]}))
            """#
        let p = "\(s.pki)/\(Self.partner)"
        let r = try Shell.run(["python3", try s.dir.write("client.py", client), s.httpsPort, s.trust,
                               "\(p)/tls-client.pem", "\(p)/tls-client.key", bundle, change])
        try s.ok(r)
        let seen = try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any] ?? [:]
        #expect(seen["same_connection"] as? Bool == true, "the change was judged on the kept-alive connection: \(r.stdout)")
        return Seen(listedBefore: seen["before"] as? Bool ?? false, listedAfter: seen["after"] as? Bool ?? false,
                    downloadedAfter: seen["got"] as? Bool ?? false, detail: r.stdout)
    }
}
