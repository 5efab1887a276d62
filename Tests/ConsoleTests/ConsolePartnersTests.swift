import ClaimGateCore
import ClaimGateTesting
@testable import Console
import Foundation
@testable import Operations
import Testing

/// The partners pages through a real console with stock `curl`: a partner in full, suspend and
/// resume (recorded as the console's operator), an agreement change uploaded by a partner admin
/// that waits for a second one (four eyes) and is approved with a fresh TOTP, and an auditor
/// refused. The partner's PKI is made by the stock `openssl` command.
@Suite(.serialized) struct ConsolePartnersTests {
    static let password = "correct horse battery"
    static let partner = "acme-assessors"
    let console: ConsoleTestServer
    var gateway: Gateway { console.gateway }
    static let shell = Principal.local(uid: 1000, name: "test")
    typealias Browser = ConsoleSessionTests.Browser
    /// The partner's files: `acme.yaml` and `certs/{ca,enc,crl}.pem`.
    let pki: String

    init() throws {
        console = try ConsoleTestServer()
        // Two partner admins: a change one of them asks for waits for the other.
        for (name, roles) in [("pat", Set([Role.partnerAdmin])), ("paula", [.partnerAdmin]), ("audrey", [.auditor])] {
            _ = try console.gateway.addOperator(name, roles: roles, by: Self.shell).requireApplied()
            try console.enrol(name, password: Self.password)
        }
        pki = console.dir.file("partner")
        try FileManager.default.createDirectory(atPath: pki + "/certs", withIntermediateDirectories: true)
        let made = try Shell.bash("""
            set -e
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 3650 \
              -subj "/O=Acme Assessors/CN=Acme Test CA" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
            openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout enc.key -out enc.csr -subj "/O=Acme Assessors/CN=acme encryption"
            printf 'basicConstraints=CA:FALSE\\nkeyUsage=critical,keyAgreement\\n' > leaf.ext
            openssl x509 -req -in enc.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 200 -out enc.pem -extfile leaf.ext
            : > index.txt; echo 01 > crlnumber
            printf '[ca]\\ndefault_ca = d\\n[d]\\ndatabase = index.txt\\ncrlnumber = crlnumber\\ndefault_md = sha256\\ndefault_crl_days = 30\\n' > ca.cnf
            openssl ca -config ca.cnf -gencrl -keyfile ca.key -cert ca.pem -out crl.pem
            """, directory: pki + "/certs")
        try #require(made.succeeded, "openssl: \(made.stderr)")
        _ = try console.dir.write("partner/acme.yaml", Self.agreement(reference: "DSA-TEST-1"))
        _ = try console.gateway.addPartner(agreementFile: pki + "/acme.yaml", by: Self.shell).requireApplied()
    }

    /// The agreement file, naming its certificates relative to its folder.
    static func agreement(reference: String, purposes: String = "[claim-assessment]") -> String {
        """
        id: \(partner)
        name: Acme Assessors
        role: assessor
        agreement:
          reference: \(reference)
          purposes: \(purposes)
          document_types: [application/pdf]
          max_retention_days: 30
          valid_until: 2099-12-31
        certificates:
          encryption: certs/enc.pem
          trust_anchor: certs/ca.pem
          crl: certs/crl.pem
          tls_client:
            subjects: ["CN=acme client,O=Acme Assessors"]

        """
    }

    /// The operator's TOTP code, `offset` steps from now (`ConsoleTestServer.code`).
    func code(_ name: String, offset: Int64 = 0) throws -> String { try console.code(name, offset: offset) }

    func browser(_ port: Int) -> Browser {
        Browser(console: console, port: port, jar: console.dir.file("jar-\(UUID().uuidString.prefix(8))"))
    }

    /// Posts `multipart/form-data` as a browser does (`curl -F`): text fields, then files
    /// (`field` → local path, sent under its own file name).
    func upload(_ b: Browser, _ path: String, _ fields: [String: String], files: [(field: String, path: String)]) async throws -> Answer {
        var args = ["-b", b.jar, "-c", b.jar, "-H", "Origin: \(b.origin)"]
        for (k, v) in fields.sorted(by: { $0.key < $1.key }) { args += ["--form-string", "\(k)=\(v)"] }
        for f in files { args += ["-F", "\(f.field)=@\(f.path)"] }
        return try await console.curl(b.port, path, args)
    }

    func events(_ action: String) throws -> [StoredEvent] {
        try gateway.store.events().filter { $0.action == action }
    }

    @Test(.timeLimit(.minutes(3)))
    func thePartnerPageShowsCertificatesAndSuspendIsRecorded() async throws {
        try await console.serve { port in
            let b = browser(port)
            #expect(try await b.signIn("pat", password: Self.password, totp: try code("pat")).status == 303)
            let list = try await b.get("/partners")
            #expect(list.status == 200)
            #expect(list.body.contains("href=\"/partners/\(Self.partner)\"") && list.body.contains("id=\"add-partner-form\""))

            let page = try await b.get("/partners/\(Self.partner)")
            #expect(page.status == 200)
            for id in ["page-title", "partner", "agreement-versions", "certificates", "crls", "pins", "suspend-form", "propose-form"] {
                #expect(page.body.contains("id=\"\(id)\""), "\(id)")
            }
            #expect(!page.body.contains("id=\"resume-form\""))
            #expect(page.body.contains("action=\"/partners/\(Self.partner)/suspend\"") && page.body.contains("action=\"/partners/\(Self.partner)/update\""))
            #expect(page.body.contains("enctype=\"multipart/form-data\"") && page.body.contains("name=\"files\" type=\"file\" multiple"))
            #expect(page.body.contains("data-certificate=\"encryption\"") && page.body.contains("data-certificate=\"trust-anchor\""))
            #expect(page.body.contains("CN=acme encryption") && page.body.contains("DSA-TEST-1"))
            // 200 days from now, counted at the gateway's clock.
            #expect(page.body.contains("<td class=\"days-left\">200</td>") || page.body.contains("<td class=\"days-left\">199</td>"))
            #expect(page.body.contains("CN=acme client,O=Acme Assessors"))
            #expect(page.body.contains("data-version=\"1\""))

            let suspended = try await b.post("/partners/\(Self.partner)/suspend", ["csrf": Browser.csrf(page.body), "reason": "contract review"])
            #expect(suspended.status == 303)
            #expect(suspended.headers["location"] == "/partners/\(Self.partner)")
            #expect(try gateway.partner(Self.partner).status == .suspended)
            let entry = try #require(try events("partner-suspended").last)
            #expect(entry.actor.hasPrefix("operator:pat;session=") && entry.transport == "console")
            #expect(entry.reason?.contains("contract review") == true)

            let after = try await b.get("/partners/\(Self.partner)")
            #expect(after.body.contains("id=\"resume-form\"") && !after.body.contains("id=\"suspend-form\""))
            // Suspending again is the operation's to refuse: the page again, with its sentence.
            let again = try await b.post("/partners/\(Self.partner)/suspend", ["csrf": Browser.csrf(after.body), "reason": "twice"])
            #expect(again.status == 400 && again.body.contains("id=\"error\""))
            let resumed = try await b.post("/partners/\(Self.partner)/resume", ["csrf": Browser.csrf(after.body), "reason": "review done"])
            #expect(resumed.status == 303)
            #expect(try gateway.partner(Self.partner).status == .active)
            #expect(try events("partner-resumed").last?.actor.hasPrefix("operator:pat;session=") == true)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func anUploadedChangeWaitsForASecondPartnerAdminWhoApprovesWithAFreshCode() async throws {
        let v2 = try console.dir.write("upload/acme-v2.yaml", Self.agreement(reference: "DSA-TEST-2", purposes: "[claim-assessment, fraud-review]"))
        let certs = ["ca.pem", "enc.pem", "crl.pem"].map { (field: "files", path: pki + "/certs/" + $0) }
        try await console.serve { port in
            let pat = browser(port)
            #expect(try await pat.signIn("pat", password: Self.password, totp: try code("pat")).status == 303)
            let page = try await pat.get("/partners/\(Self.partner)")
            let csrf = Browser.csrf(page.body)

            // Without the files it names, the operation says which one is missing.
            let missing = try await upload(pat, "/partners/\(Self.partner)/update", ["csrf": csrf], files: [("agreement", v2)])
            #expect(missing.status == 400)
            #expect(missing.body.contains("id=\"error\"") && missing.body.contains("was not uploaded with the agreement"))
            // Without the token: refused, recorded.
            let forged = try await upload(pat, "/partners/\(Self.partner)/update", ["csrf": "x"], files: [("agreement", v2)] + certs)
            #expect(forged.status == 403)

            let proposed = try await upload(pat, "/partners/\(Self.partner)/update", ["csrf": csrf], files: [("agreement", v2)] + certs)
            #expect(proposed.status == 303)
            let location = try #require(proposed.headers["location"])
            #expect(location.hasPrefix("/pending/"))
            #expect(try gateway.partner(Self.partner).version == 1)
            let mine = try await pat.get(location)
            #expect(mine.status == 200)
            #expect(mine.body.contains("id=\"change-diff\"") && mine.body.contains("DSA-TEST-2"))
            #expect(mine.body.contains("id=\"withdraw-form\"") && !mine.body.contains("id=\"approve-form\""))

            let paula = browser(port)
            let loginCode = try code("paula")
            #expect(try await paula.signIn("paula", password: Self.password, totp: loginCode).status == 303)
            let list = try await paula.get("/pending")
            #expect(list.status == 200)
            #expect(list.body.contains("id=\"nav-pending\"") && list.body.contains("id=\"pending\""))
            #expect(list.body.contains("href=\"\(location)\""))
            let change = try await paula.get(location)
            #expect(change.body.contains("id=\"approve-form\"") && change.body.contains("id=\"approve-totp\""))
            #expect(!change.body.contains("id=\"withdraw-form\""))
            #expect(change.body.contains("action=\"\(location)/approve\""))
            // The login's code is taken: the same code again is refused (and recorded).
            let reused = try await paula.post(location + "/approve", ["csrf": Browser.csrf(change.body), "totp": loginCode])
            #expect(reused.status == 403 && reused.body.contains("id=\"error\""))
            #expect(try gateway.partner(Self.partner).version == 1)
            // The next step's code approves.
            let approved = try await paula.post(location + "/approve", ["csrf": Browser.csrf(change.body), "totp": try code("paula", offset: 1)])
            #expect(approved.status == 303)
            #expect(approved.headers["location"] == "/partners/\(Self.partner)")
            let p = try gateway.partner(Self.partner)
            #expect(p.version == 2 && p.agreement.terms.reference == "DSA-TEST-2")
            #expect(try events("change-approved").last?.actor.hasPrefix("operator:paula;session=") == true)
            let shown = try await paula.get("/partners/\(Self.partner)")
            #expect(shown.body.contains("data-version=\"2\"") && shown.body.contains("operator:paula;session="))
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func anOnboardingUploadWaitsAndItsProposerWithdrawsIt() async throws {
        // A second partner with a CA of its own (each partner needs its own trust anchor).
        let made = try Shell.bash("""
            set -e
            mkdir -p other && cd other
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 3650 \
              -subj "/O=Beta Bank/CN=Beta Test CA" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
            openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout enc.key -out enc.csr -subj "/O=Beta Bank/CN=beta encryption"
            openssl x509 -req -in enc.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 100 -out enc.pem -extfile ../certs/leaf.ext
            """, directory: pki)
        try #require(made.succeeded, "openssl: \(made.stderr)")
        let yaml = try console.dir.write("upload/beta.yaml", """
            id: beta-bank
            name: Beta Bank
            role: institution
            agreement:
              reference: DSA-BETA-1
              purposes: [claim-assessment]
              document_types: [application/pdf]
              max_retention_days: 10
              valid_until: 2099-12-31
            certificates:
              encryption: keys/enc.pem
              trust_anchor: keys/ca.pem

            """)
        try await console.serve { port in
            let pat = browser(port)
            #expect(try await pat.signIn("pat", password: Self.password, totp: try code("pat")).status == 303)
            let list = try await pat.get("/partners", ["-H", "Accept-Language: zh-CN"])
            #expect(list.body.contains("id=\"add-partner-form\"") && list.body.contains("接入合作方"))
            let proposed = try await upload(pat, "/partners", ["csrf": Browser.csrf(list.body)],
                                            files: [("agreement", yaml), ("files", pki + "/other/ca.pem"), ("files", pki + "/other/enc.pem")])
            #expect(proposed.status == 303)
            let location = try #require(proposed.headers["location"])
            #expect(location.hasPrefix("/pending/"))
            #expect(throws: ClaimGateError.self) { try gateway.partner("beta-bank") }
            let change = try await pat.get(location, ["-H", "Accept-Language: zh-CN"])
            #expect(change.body.contains("id=\"change-diff\"") && change.body.contains("DSA-BETA-1") && change.body.contains("撤回"))
            let withdrawn = try await pat.post(location + "/withdraw", ["csrf": Browser.csrf(change.body)])
            #expect(withdrawn.status == 303 && withdrawn.headers["location"] == location)
            let after = try await pat.get(location)
            #expect(after.body.contains("<dd id=\"change-state\">withdrawn</dd>") && !after.body.contains("id=\"approve-form\""))
            #expect(try events("change-withdrawn").last?.actor.hasPrefix("operator:pat;session=") == true)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func anAuditorSeesThePartnerButCannotSuspendIt() async throws {
        try await console.serve { port in
            let b = browser(port)
            #expect(try await b.signIn("audrey", password: Self.password, totp: try code("audrey")).status == 303)
            let page = try await b.get("/partners/\(Self.partner)")
            #expect(page.status == 200)
            #expect(page.body.contains("id=\"certificates\"") && !page.body.contains("id=\"suspend-form\"") && !page.body.contains("id=\"propose-form\""))
            let refused = try await b.post("/partners/\(Self.partner)/suspend", ["csrf": Browser.csrf(page.body), "reason": "by URL"])
            #expect(refused.status == 403 && refused.body.contains("id=\"error\""))
            #expect(try gateway.partner(Self.partner).status == .active)
            #expect(try gateway.store.events().contains {
                $0.action == "operator-refused" && $0.reasonCode == "role-missing" && $0.actor.hasPrefix("operator:audrey;session=")
                    && $0.transport == "console"
            })
        }
    }
}
