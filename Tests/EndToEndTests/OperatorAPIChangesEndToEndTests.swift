import ClaimGateCore
import ClaimGateTesting
import Foundation
import Operations
import Testing

/// The operator API's changes, driven by stock `curl` with operator certificates against a
/// running `serve --operator-api`: a partner onboarded, updated and rotated from the files the
/// client sent (and never from the server's disk), four eyes proposed, refused to its proposer,
/// approved by a second partner admin and withdrawn, and a failing push retried and cancelled.
@Suite struct OperatorAPIChangesEndToEndTests {
    typealias Setup = OperatorAPIEndToEndTests.Setup
    static let json = ["-H", "Content-Type: application/json"]
    static let stMarys = GatewayUnderTest.httpsPartner

    /// A request body `{"<field>": path, "files": {path: base64…}}` plus `extra`, with each file
    /// keyed by the path the client names (not necessarily one that exists on the gateway host).
    static func body(_ field: String, _ path: String, files: [String: Data], extra: [String: Any] = [:]) throws -> String {
        var object: [String: Any] = [field: path, "files": files.mapValues { $0.base64EncodedString() }]
        object.merge(extra) { $1 }
        return String(data: try JSONSerialization.data(withJSONObject: object), encoding: .utf8)!
    }

    static func object(_ body: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any], "not a JSON object: \(body)")
    }

    /// St Mary's agreement as a client under `/client/…` holds it: its certificates at paths that
    /// do not exist on the gateway host, sent in `files`; `leave` is left out of `files`.
    static func stMarysRequest(_ s: GatewayUnderTest, reference: String, leave: String? = nil,
                               delivery: String = "{pull: [https]}") throws -> String {
        let client = "/client-\(UUID().uuidString.prefix(6))/stm"
        let yaml = Fixtures.stMarysAgreement(pki: client, reference: reference, delivery: delivery)
            .replacingOccurrences(of: "\(client)/st-marys-hospital/", with: "certs/")
        var files: [String: Data] = [client + "/acme.yaml": Data(yaml.utf8)]
        for name in ["encryption.pem", "ca.pem"] where name != leave {
            files[client + "/certs/" + name] = FileManager.default.contents(atPath: "\(s.pki)/\(stMarys)/\(name)")
        }
        return try body("agreement_file", client + "/acme.yaml", files: files)
    }

    @Test func aPartnerIsAddedUpdatedAndRotatedFromTheFilesTheClientSent() throws {
        let s = try Setup()
        let pat = try s.addOperator("pat", roles: "partner-admin")
        let fingerprint = try s.certificateSHA256(pat.cert)

        // Added: its agreement names certificates by paths relative to the client's file.
        let added = try s.operatorCurl("/v1/partners", Self.json + ["-d", try Self.stMarysRequest(s, reference: "DSA-API-1")], as: pat)
        #expect(added.status == "201", "\(added.body)")
        let partner = try Self.object(added.body)
        #expect(partner["id"] as? String == Self.stMarys)
        #expect(partner["agreement_reference"] as? String == "DSA-API-1")
        #expect(try s.sql("SELECT actor, transport FROM event WHERE action = 'partner-onboarded' AND partner_id = '\(Self.stMarys)'")
                == "operator:pat;sha256=\(fingerprint)|operator-api")

        // Updated: the next version; an agreement for another partner than the path's is refused.
        let update = try Self.stMarysRequest(s, reference: "DSA-API-2")
        let wrong = try s.operatorCurl("/v1/partners/\(GatewayUnderTest.sftpPartner)", ["-X", "PUT"] + Self.json + ["-d", update], as: pat)
        #expect(wrong.status == "400", "\(wrong.body)")
        #expect(try s.problem(wrong.body)["code"] as? String == "invalid-argument")
        let updated = try s.operatorCurl("/v1/partners/\(Self.stMarys)", ["-X", "PUT"] + Self.json + ["-d", update], as: pat)
        #expect(updated.status == "200", "\(updated.body)")
        #expect(try Self.object(updated.body)["agreement_version"] as? Int == 2)
        #expect(try Self.object(updated.body)["agreement_reference"] as? String == "DSA-API-2")

        // Rotated: a new encryption certificate from the partner's CA, sent as a file.
        let issued = s.dir.path + "/next"
        try FileManager.default.createDirectory(atPath: issued, withIntermediateDirectories: true)
        let ca = "\(s.pki)/\(Self.stMarys)"
        try s.ok(Shell.bash("""
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=St Mary's Hospital/CN=st-marys-hospital encryption 2" \
              -keyout next.key -out next.csr 2>/dev/null &&
            printf 'keyUsage=critical,keyAgreement\\n' > ext &&
            openssl x509 -req -in next.csr -CA '\(ca)/ca.pem' -CAkey '\(ca)/ca.key' -CAcreateserial -days 200 -extfile ext -out next.pem 2>/dev/null
            """, directory: issued))
        let nextPEM = try #require(FileManager.default.contents(atPath: issued + "/next.pem"))
        let expected = try s.certificateSHA256(issued + "/next.pem")
        let day = String(ISO8601DateFormatter().string(from: Date().addingTimeInterval(14 * 86_400)).prefix(10))
        let rotate = try Self.body("encryption_file", "/client/next.pem", files: ["/client/next.pem": nextPEM], extra: ["from": day])
        let rotated = try s.operatorCurl("/v1/partners/\(Self.stMarys)/rotate", Self.json + ["-d", rotate], as: pat)
        #expect(rotated.status == "200", "\(rotated.body)")
        let r = try Self.object(rotated.body)
        #expect(r["fingerprint"] as? String == expected)
        #expect(r["from"] as? String == day)
        #expect((r["partner"] as? [String: Any])?["agreement_version"] as? Int == 3)
        try s.ok(s.claimgate(["audit", "verify"]))
    }

    @Test func theServerNeverReadsAClientPathFromItsOwnDisk() throws {
        let s = try Setup()
        let pat = try s.addOperator("pat", roles: "partner-admin")
        // The agreement names the dev PKI's CA by its real path, which exists on this host, but
        // the request does not carry it.
        let yaml = Fixtures.stMarysAgreement(pki: s.pki, reference: "DSA-DISK-1")
        let encryption = "\(s.pki)/\(Self.stMarys)/encryption.pem"
        let body = try Self.body("agreement_file", "/client/stm.yaml", files: [
            "/client/stm.yaml": Data(yaml.utf8), encryption: try #require(FileManager.default.contents(atPath: encryption))])
        let refused = try s.operatorCurl("/v1/partners", Self.json + ["-d", body], as: pat)
        #expect(refused.status == "404", "\(refused.body)")
        let problem = try s.problem(refused.body)
        #expect(problem["code"] as? String == "unreadable-input")
        #expect((problem["detail"] as? String)?.contains("\(s.pki)/\(Self.stMarys)/ca.pem") == true)
        #expect(problem["exit_status"] as? Int == 66)
        // Nor the agreement file itself: a real file on the host, not sent.
        let onDisk = try s.agreementFile(yaml)
        let missing = try s.operatorCurl("/v1/partners", Self.json + ["-d", try Self.body("agreement_file", onDisk, files: [:])], as: pat)
        #expect(missing.status == "404", "\(missing.body)")
        #expect(try s.problem(missing.body)["code"] as? String == "unreadable-input")
        // A relative path is refused: only the client can resolve it.
        let relative = try s.operatorCurl("/v1/partners", Self.json + ["-d", try Self.body("agreement_file", "stm.yaml", files: [:])], as: pat)
        #expect(try s.problem(relative.body)["code"] as? String == "invalid-argument")
        #expect(try s.sql("SELECT count(*) FROM partner WHERE id = '\(Self.stMarys)'") == "0")
        #expect(try s.sql("SELECT count(*) FROM event WHERE action = 'partner-refused' AND reason_code = 'unreadable-input'") == "2")
    }

    @Test func fourEyesThroughTheAPI() throws {
        let s = try Setup()
        let pat = try s.addOperator("pat", roles: "partner-admin")
        let quinn = try s.addOperator("quinn", roles: "partner-admin")
        let auditor = try s.addOperator("audrey", roles: "auditor")

        // Proposed by one partner admin: 202 with the change.
        let proposed = try s.operatorCurl("/v1/partners", Self.json + ["-d", try Self.stMarysRequest(s, reference: "DSA-4E-API")], as: pat)
        #expect(proposed.status == "202", "\(proposed.body)")
        let answer = try Self.object(proposed.body)
        let id = try #require(answer["pending"] as? String)
        let change = try #require(answer["change"] as? [String: Any])
        #expect(change["id"] as? String == id)
        #expect(change["action"] as? String == "partner-add")
        #expect(change["target"] as? String == Self.stMarys)
        #expect(change["state"] as? String == "pending")
        #expect(change["expires"] is String)
        #expect(try s.sql("SELECT count(*) FROM partner WHERE id = '\(Self.stMarys)'") == "0")

        // Listed and shown, as `pending --json` and `pending show --json`.
        let list = try s.operatorCurl("/v1/pending", as: auditor)
        #expect(list.status == "200", "\(list.body)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(list.body.utf8)) as? [[String: Any]])
        #expect(rows.map { $0["id"] as? String } == [id])
        let shown = try Self.object(try s.operatorCurl("/v1/pending/\(id)", as: quinn).body)
        #expect((shown["details"] as? [String])?.contains { $0.contains("DSA-4E-API") } == true, "\(shown)")
        #expect(shown["blocked"] == nil)

        // Its proposer cannot approve it; the auditor holds no partner-add; the second admin can.
        let own = try s.operatorCurl("/v1/pending/\(id)/approve", ["-X", "POST"], as: pat)
        #expect(own.status == "403", "\(own.body)")
        #expect(try s.problem(own.body)["reason"] as? String == "self-approval")
        let audit = try s.operatorCurl("/v1/pending/\(id)/approve", ["-X", "POST"], as: auditor)
        #expect(try s.problem(audit.body)["reason"] as? String == "role-missing")
        let approved = try s.operatorCurl("/v1/pending/\(id)/approve", ["-X", "POST"], as: quinn)
        #expect(approved.status == "200", "\(approved.body)")
        let result = try Self.object(approved.body)
        #expect((result["change"] as? [String: Any])?["state"] as? String == "approved")
        let applied = try #require(result["applied"] as? [String: Any])
        #expect(applied["kind"] as? String == "partner")
        #expect((applied["partner"] as? [String: Any])?["id"] as? String == Self.stMarys)
        #expect(try s.sql("SELECT actor FROM event WHERE action = 'partner-onboarded' AND partner_id = '\(Self.stMarys)'")
                == "operator:quinn;sha256=\(try s.certificateSHA256(quinn.cert))")
        let twice = try s.operatorCurl("/v1/pending/\(id)/approve", ["-X", "POST"], as: quinn)
        #expect(twice.status == "409")
        #expect(try s.problem(twice.body)["code"] as? String == "change-not-pending")

        // A removal that waits, withdrawn by its proposer (not by the other admin).
        let removal = try s.operatorCurl("/v1/partners/\(Self.stMarys)/remove", Self.json + ["-d", #"{"force":true}"#], as: pat)
        #expect(removal.status == "202", "\(removal.body)")
        let removalID = try #require(try Self.object(removal.body)["pending"] as? String)
        #expect((try Self.object(removal.body)["change"] as? [String: Any])?["action"] as? String == "partner-remove")
        let notYours = try s.operatorCurl("/v1/pending/\(removalID)/withdraw", ["-X", "POST"], as: quinn)
        #expect(try s.problem(notYours.body)["reason"] as? String == "not-proposer")
        let withdrawn = try s.operatorCurl("/v1/pending/\(removalID)/withdraw", ["-X", "POST"], as: pat)
        #expect(withdrawn.status == "200", "\(withdrawn.body)")
        #expect(try Self.object(withdrawn.body)["state"] as? String == "withdrawn")
        let settled = try JSONSerialization.jsonObject(with: Data(try s.operatorCurl("/v1/pending?all=true", as: auditor).body.utf8)) as? [[String: Any]]
        #expect(settled?.map { $0["state"] as? String } == ["approved", "withdrawn"])
        #expect((try JSONSerialization.jsonObject(with: Data(try s.operatorCurl("/v1/pending", as: auditor).body.utf8)) as? [Any])?.isEmpty == true)
        try s.ok(s.claimgate(["audit", "verify"]))
    }

    @Test func anOperatorAddWhoseKeyTheGatewayWouldMakeIsApprovedOnlyAtTheShell() throws {
        let s = try Setup()
        let sam = try s.addOperator("sam", roles: "security-officer")
        let sue = try s.addOperator("sue", roles: "security-officer")
        // Proposed by sam through the operations (as an operator's `operator add` is, without a
        // public key): the key would be made at the gateway when it is approved.
        let gateway = try Gateway.open(home: Home(root: s.home))
        let proposer = Principal.operator(try OperatorID("sam"), fingerprint: try s.certificateSHA256(sam.cert))
        let change = try #require(try gateway.addOperator("olga", roles: [.securityOfficer], by: proposer).pendingChange)
        let id = change.id.rawValue
        let refused = try s.operatorCurl("/v1/pending/\(id)/approve", ["-X", "POST"], as: sue)
        #expect(refused.status == "400", "\(refused.body)")
        #expect((try s.problem(refused.body)["detail"] as? String)?.contains("claimgate approve \(id) --out DIR") == true)
        #expect(!refused.body.contains("PRIVATE KEY"))
        #expect(try s.sql("SELECT count(*) FROM operator WHERE name = 'olga'") == "0")
        #expect(try s.sql("SELECT state FROM pending_change WHERE id = '\(id)'") == "pending")
        #expect(try s.sql("SELECT reason_code FROM event WHERE action = 'change-refused' ORDER BY seq DESC LIMIT 1") == "invalid-argument")
    }

    @Test func aFailingPushIsRetriedAndCancelledThroughTheAPI() throws {
        let s = try Setup()
        // St Mary's receives pushes at a port nothing listens on.
        try s.onboard(Fixtures.stMarysAgreement(pki: s.pki, reference: "DSA-PUSH-1",
                                                delivery: "{push: {https: {url: \"https://127.0.0.1:9/bundles\"}}, pull: [https]}"))
        let pat = try s.addOperator("pat", roles: "partner-admin")
        let claire = try s.addOperator("claire", roles: "claims-operator")
        let document = try s.dir.write("report.pdf", Data("%PDF-1.5\n% kitchen\n".utf8))
        let (id, sent) = try s.send(document, to: Self.stMarys, claim: "CLM-PUSH-1")
        try s.ok(sent)
        func delivery() throws -> [String: Any] { try s.delivery(id) }
        #expect(try delivery()["state"] as? String == "pending")
        let before = try #require(try delivery()["attempts"] as? Int)
        #expect(before >= 1)

        // A claims operator sees deliveries but may not steer them.
        for path in ["/v1/deliveries/\(id)/retry", "/v1/deliveries/\(id)/cancel"] {
            let r = try s.operatorCurl(path, Self.json + ["-d", #"{"reason":"x"}"#], as: claire)
            #expect(r.status == "403", "\(r.body)")
            #expect(try s.problem(r.body)["reason"] as? String == "role-missing")
        }
        #expect(try s.sql("SELECT subject FROM event WHERE action = 'operator-refused' ORDER BY seq") == "delivery-retry\ndelivery-cancel")

        // Retried: due now, so serve's delivery worker attempts it within its poll (not after the hour's backoff).
        let retried = try s.operatorCurl("/v1/deliveries/\(id)/retry", ["-X", "POST"], as: pat)
        #expect(retried.status == "200", "\(retried.body)")
        #expect(try Self.object(retried.body)["state"] as? String == "pending")
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline, (try delivery()["attempts"] as? Int ?? 0) <= before { usleep(200_000) }
        let after = try delivery()
        #expect((after["attempts"] as? Int ?? 0) > before, "\(after)")

        // Cancelled: not attempted again; the bundle stays queued for a pull.
        let cancelled = try s.operatorCurl("/v1/deliveries/\(id)/cancel", Self.json + ["-d", #"{"reason":"INC-9"}"#], as: pat)
        #expect(cancelled.status == "200", "\(cancelled.body)")
        #expect(try Self.object(cancelled.body)["state"] as? String == "cancelled")
        #expect(try s.sql("SELECT state FROM bundle WHERE id = '\(id)'") == "queued")
        let again = try s.operatorCurl("/v1/deliveries/\(id)/retry", ["-X", "POST"], as: pat)
        #expect(again.status == "409", "\(again.body)")
        #expect(try s.problem(again.body)["code"] as? String == "delivery-settled")
        let none = try s.operatorCurl("/v1/deliveries/00000000-0000-0000-0000-000000000000/retry", ["-X", "POST"], as: pat)
        #expect(try s.problem(none.body)["code"] as? String == "unknown-bundle")
        let fingerprint = try s.certificateSHA256(pat.cert)
        #expect(try s.sql("SELECT action, actor, transport, reason_code FROM event WHERE action LIKE 'delivery-%' ORDER BY seq")
                == """
                delivery-retried|operator:pat;sha256=\(fingerprint)|operator-api|
                delivery-cancelled|operator:pat;sha256=\(fingerprint)|operator-api|operator-note
                delivery-refused|operator:pat;sha256=\(fingerprint)|operator-api|delivery-settled
                delivery-refused|operator:pat;sha256=\(fingerprint)|operator-api|unknown-bundle
                """)

        // The command line: `deliveries` still lists, `deliveries list` too.
        let listed = try s.claimgate(["deliveries", "--state", "cancelled", "--json"])
        try s.ok(listed)
        #expect(listed.stdout.contains(id))
        try s.ok(s.claimgate(["deliveries", "list"]))
        try s.ok(s.claimgate(["audit", "verify"]))
    }
}
