import ClaimGateApp
import Operations
import ClaimGateCore
import Envelope
import Exchange
import Foundation
import Logging
import SFTP

/// `claimgate demo`: the gateway's main job end to end on the embedded default (SQLite, local
/// folders, the dev PKI): onboard the sample partners, seal sample claim documents for each,
/// and open them as each partner would.
public enum Demo {
    public struct Options: Sendable {
        public var home: Home
        public var pkiDirectory: String
        public var partnersDirectory: String
        /// Who runs the demo: its admin steps are recorded as theirs.
        public var principal: Principal
        public init(home: Home, pkiDirectory: String, partnersDirectory: String, principal: Principal) {
            self.home = home; self.pkiDirectory = pkiDirectory; self.partnersDirectory = partnersDirectory
            self.principal = principal
        }
    }

    static let marker = ".claimgate-demo"

    /// Runs the demo, printing each step through `say`.
    public static func run(_ o: Options, clock: any WallClock = SystemClock(), say: (String) -> Void) throws {
        let fm = FileManager.default
        let pki = FileSystem.absolute(o.pkiDirectory)
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: o.partnersDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ClaimGateError(.invalidArgument, "No agreement folder '\(o.partnersDirectory)' here: run the demo from the ClaimGate checkout (it reads partners/*.yaml), or pass --partners DIR.")
        }
        if fm.fileExists(atPath: o.home.root) {
            guard fm.fileExists(atPath: o.home.root + "/" + marker) else {
                throw ClaimGateError(.alreadyInitialised, "\(o.home.root) exists and is not a demo home: pass another --home for the demo.")
            }
            try fm.removeItem(atPath: o.home.root)
        }

        say("1. Dev PKI in \(pki)")
        let written = try DevPKI.generate(into: pki, clock: clock)
        say(written.isEmpty ? "   (already there; delete the folder to regenerate)" : written.map { "   generated \($0)" }.joined(separator: "\n"))

        say("2. Gateway home \(o.home.root): store and identity (imported from the dev PKI)")
        var material = GatewayIdentity.Import()
        material.caCert = pki + "/gateway/ca.pem"; material.caKey = pki + "/gateway/ca.key"
        material.signingCert = pki + "/gateway/signing.pem"; material.signingKey = pki + "/gateway/signing.key"
        material.tlsCert = pki + "/gateway/tls.pem"; material.tlsKey = pki + "/gateway/tls.key"
        material.encryptionCert = pki + "/gateway/encryption.pem"; material.encryptionKey = pki + "/gateway/encryption.key"
        let gateway = try Gateway.initialise(home: o.home, gatewayID: "claimgate-demo", material: material, by: o.principal, clock: clock)
        try Data().write(to: URL(fileURLWithPath: o.home.root + "/" + marker))
        say("   signing certificate SHA-256 \(gateway.identity.signing.sha256Fingerprint)")

        // An assessor's SFTP server to push to: a local OpenSSH sshd when this machine can run one.
        let sshd = DemoPeers.LocalSSHD.start(in: o.home.root + "/demo-sshd", authorizedKey: try gateway.identity.sshClient().line)
        defer { sshd?.stop() }

        say("3. Partners from \(o.partnersDirectory)")
        let files = try fm.contentsOfDirectory(atPath: o.partnersDirectory).filter { $0.hasSuffix(".yaml") }.sorted()
        var partners: [Partner] = []
        // The sample agreements name the dev PKI at ../certs/dev; with --pki elsewhere, load
        // copies that name it instead.
        var agreementsDirectory = o.partnersDirectory
        let samplePKI = FileSystem.absolute(o.partnersDirectory + "/../certs/dev")
        if (samplePKI as NSString).standardizingPath != (pki as NSString).standardizingPath {
            agreementsDirectory = o.home.root + "/demo-partners"
            try FileSystem.makeDirectory(agreementsDirectory, mode: 0o700)
            for f in files {
                let text = try FileSystem.readInput(o.partnersDirectory + "/" + f, what: "agreement file")
                try FileSystem.writeAtomically(Data(text.replacingOccurrences(of: "../certs/dev/", with: pki + "/").utf8),
                                               to: agreementsDirectory + "/" + f, mode: 0o600)
            }
            say("   (their certificate paths pointed at \(pki), in \(agreementsDirectory))")
        }
        for f in files {
            var (agreement, source) = try AgreementLoader.load(path: agreementsDirectory + "/" + f, clock: clock)
            // The sample push target is fictional: point it at the local sshd, or drop it.
            if agreement.delivery.pushSFTP != nil {
                agreement.delivery.pushSFTP = sshd.map {
                    SFTPPushTarget(host: "127.0.0.1", port: $0.port, user: "root", path: $0.dir + "/inbound", hostKey: $0.pin)
                }
            }
            let p = try gateway.addPartner(agreement, source: source, by: o.principal)
            partners.append(p)
            say("   onboarded \(p.id) (\(p.agreement.role.rawValue), agreement \(p.agreement.terms.reference), purposes \(p.agreement.terms.purposes.joined(separator: ", ")))")
        }
        if partners.contains(where: { $0.agreement.delivery.pushSFTP != nil }), let sshd {
            say("   push target: a local OpenSSH sshd on 127.0.0.1:\(sshd.port), host key pinned as \(sshd.pin)")
        } else {
            say("   push target: none (sshd cannot be started here), so the push leg is skipped")
        }

        say("4. Sample claim documents")
        let docs = try SampleDocuments.write(into: o.home.root + "/demo-documents")
        docs.forEach { say("   \($0)") }

        say("5. Sealing into each partner's outbox")
        var sealed: [(Partner, BundleRecord)] = []
        for p in partners {
            let allowed = docs.filter { path in
                p.agreement.terms.documentTypes.contains(SampleDocuments.mediaType(of: path))
            }
            let order = SealOrder(partner: p.id.rawValue, claimID: "CLM-2026-000123", purpose: p.agreement.terms.purposes[0],
                                  expiry: .ttl(Double(min(7, p.agreement.terms.maxRetentionDays)) * 86_400),
                                  consentReference: "CONSENT-88812",
                                  metadata: ["claimant.national_id": "756.1234.5678.97", "loss.type": "water-damage"],
                                  documents: allowed)
            let b = try gateway.seal(order, to: .outbox, by: o.principal)
            sealed.append((p, b))
            say("   bundle \(b.id.description) for \(p.id): \(allowed.count) documents, \(b.fileSize) bytes, expires \(Timestamp.format(b.expires))")
        }

        say("6. A refused share: purpose 'marketing' for \(partners.first?.id.rawValue ?? "-")")
        if let p = partners.first {
            do {
                _ = try gateway.seal(SealOrder(partner: p.id.rawValue, claimID: "CLM-2026-000123", purpose: "marketing",
                                               expiry: .ttl(86_400), documents: docs), to: .outbox, by: o.principal)
                throw ClaimGateError(.policyRefused, "The demo expected a refusal for purpose 'marketing'.")
            } catch let e as ClaimGateError where e.code == .policyRefused {
                say("   refused: \(e.message)")
            }
        }

        // What each partner received, and how.
        var received: [PartnerID: String] = [:]
        let sftpPartners = sealed.filter { $0.0.agreement.delivery.pull.contains(.sftp) && !$0.0.agreement.sshAuthorizedKeys.isEmpty }
        if !sftpPartners.isEmpty {
            say("7. SFTP pull: the gateway's SFTP server on 127.0.0.1, partners fetch /outbox/<bundle-id>.p7m")
            var config = SFTPServer.Configuration(hostKeyPath: o.home.identity + "/" + GatewayIdentity.File.sshHost)
            config.port = 0
            var quiet = Logger(label: "claimgate.demo")
            quiet.logLevel = .warning
            let server = SFTPServer(configuration: config, exchange: GatewayExchange(gateway: gateway), logger: quiet)
            try server.start()
            defer { server.stop() }
            let hostKey = try gateway.identity.sshHost()
            for (p, b) in sftpPartners {
                let folder = o.home.root + "/demo-partners/" + p.id.rawValue
                try FileSystem.makeDirectory(folder, mode: 0o700)
                let local = folder + "/pulled-" + b.id.description + ".p7m"
                let client = try DemoPeers.pull(name: b.id.description + ".p7m", partner: p.id, port: server.boundPort,
                                                hostKey: hostKey, hostKeyPin: hostKey.fingerprint,
                                                partnerKey: pki + "/\(p.id)/ssh_ed25519", into: local, scratch: folder)
                received[p.id] = local
                say("   \(p.id) pulled \(b.fileSize) bytes with the \(client); the download is recorded")
            }
        }

        say("8. SFTP push to the assessor's own server (host key pinned)")
        var pushed = false
        for (p, b) in sealed {
            guard let planned = try gateway.delivery(of: b.id) else { continue }
            let d = try gateway.attempt(planned)
            pushed = true
            if d.state == .delivered {
                say("   delivered \(b.id.description).p7m to \(d.target)")
                if received[p.id] == nil, let target = p.agreement.delivery.pushSFTP {
                    received[p.id] = target.path + "/" + b.id.description + ".p7m"
                }
            } else {
                say("   delivery \(d.state.rawValue): \(d.lastError ?? "unknown") (`claimgate serve` retries pending ones)")
            }
        }
        if !pushed { say("   skipped: no partner has a reachable push target") }

        let trust = o.home.root + "/gateway-trust.pem"
        try Data(gateway.identity.trustPEM.utf8).write(to: URL(fileURLWithPath: trust))
        let httpsPartners = sealed.filter { $0.0.agreement.delivery.pull.contains(.https) }
        if !httpsPartners.isEmpty {
            say("9. HTTPS pull with mutual TLS: `claimgate serve --https`, the partner's client certificate, stock curl")
            if let curl = DemoPeers.executable("curl"), let serve = DemoPeers.LocalServe.start(home: o.home.root, log: o.home.root + "/demo-serve.log") {
                defer { serve.stop() }
                for (p, b) in httpsPartners {
                    let folder = o.home.root + "/demo-partners/" + p.id.rawValue
                    try FileSystem.makeDirectory(folder, mode: 0o700)
                    let local = folder + "/https-" + b.id.description + ".p7m"
                    let base = "https://127.0.0.1:\(serve.httpsPort)/v1/bundles"
                    let tls = [curl, "-sS", "--fail", "--cacert", trust, "--cert", pki + "/\(p.id)/tls-client.pem",
                               "--key", pki + "/\(p.id)/tls-client.key"]
                    let list = try DemoPeers.run(tls + [base])
                    let got = try DemoPeers.run(tls + ["-o", local, base + "/" + b.id.description])
                    guard list.status == 0, got.status == 0, let data = FileManager.default.contents(atPath: local) else {
                        say("   \(p.id): the HTTPS pull failed (see \(o.home.root)/demo-serve.log)")
                        continue
                    }
                    let sha = SHA256Hasher.hex(data)
                    let receipt = try DemoPeers.run(tls + ["-X", "POST", "-d", "{\"sha256\":\"\(sha)\"}", base + "/" + b.id.description + "/receipt"])
                    received[p.id] = local
                    say("   \(p.id) listed its bundles, downloaded \(data.count) bytes and acknowledged them (receipt \(receipt.status == 0 ? "accepted" : "refused"))")
                }
            } else {
                say("   skipped: curl is not installed or serve could not start here")
            }
        }

        say("10. Opening each bundle as its partner would")
        for (p, b) in sealed {
            let copy = received[p.id] ?? b.filePath
            let out = o.home.root + "/demo-opened/" + p.id.rawValue
            let manifest = try PartnerOpener.open(.init(bundle: copy, certificate: pki + "/\(p.id)/encryption.pem",
                                                        key: pki + "/\(p.id)/encryption.key", trust: trust, output: out),
                                                  clock: clock)
            let how = received[p.id] == nil ? "from its outbox" : "as received"
            say("   \(p.id) opened \(manifest.documents.count) documents \(how) into \(out) (signature, recipient, expiry and digests verified)")
            say("     metadata as shared: \(manifest.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))")
        }
        if let (p, b) = sealed.first {
            say("11. The same bundle opens with stock tools:")
            say("   openssl cms -decrypt -binary -inform DER -in \(b.filePath) -recip \(pki)/\(p.id)/encryption.pem -inkey \(pki)/\(p.id)/encryption.key \\")
            say("     | openssl cms -verify -binary -inform DER -CAfile \(trust) -purpose smimesign | tar -tv")
        }
        try gateway.sealAuditTrail()
        let audit = try gateway.verifyAuditTrail(by: .system)
        say("12. The audit trail: \(audit.entryCount) entries, hash-chained and sealed up to entry \(audit.lastSealedSequence) by a signed checkpoint: \(audit.isIntact ? "intact" : "NOT INTACT")")
        say("   claimgate audit verify --home \(o.home.root); claimgate audit report --month \(Self.month(gateway.clock.now)) --home \(o.home.root)")
        say("Done. Inspect with: claimgate bundle list --home \(o.home.root)")
    }
}

extension Demo {
    /// `YYYY-MM` of an instant, in UTC.
    static func month(_ date: Date) -> String { String(Timestamp.format(date).prefix(7)) }
}

/// Small, valid sample documents for the demo (no real personal data).
enum SampleDocuments {
    static func write(into dir: String) throws -> [String] {
        try FileSystem.makeDirectory(dir, mode: 0o700)
        let pdf = """
        %PDF-1.4
        1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
        2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj
        3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >> endobj
        4 0 obj << /Length 58 >> stream
        BT /F1 18 Tf 20 70 Td (Sample medical report) Tj ET
        endstream endobj
        5 0 obj << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> endobj
        trailer << /Root 1 0 R >>
        %%EOF

        """
        let png = Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")!
        let jpeg = Data(base64Encoded: "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=")!
        let files: [(String, Data)] = [("medical-report.pdf", Data(pdf.utf8)), ("damage-photo.jpg", jpeg), ("invoice.png", png)]
        return try files.map { name, data in
            let path = dir + "/" + name
            try FileSystem.writeAtomically(data, to: path, mode: 0o600, replace: true)
            return path
        }
    }

    static func mediaType(of path: String) -> String {
        let prefix = (FileManager.default.contents(atPath: path) ?? Data()).prefix(MediaTypeSniffer.prefixLength)
        return MediaTypeSniffer.sniff(prefix)
    }
}
