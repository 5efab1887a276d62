import ClaimGateTesting
import Foundation
import Testing

/// `claimgate serve --operator-api` driven by stock `curl` with operator certificates from
/// `claimgate operator add`: roles allowed and refused through the API, the handshake refusing
/// every certificate the operator CA did not issue, a suspension in force at the next request,
/// and a multi-MiB document sent as a stream and opened by the partner's stock tools.
@Suite struct OperatorAPIEndToEndTests {
    final class Setup: GatewayUnderTest, @unchecked Sendable {
        init() throws {
            try super.init("claimgate-operator-api")
            try onboard(Fixtures.sftpPullAgreement(id: Self.sftpPartner, pki: pki, reference: "DSA-OPAPI-1"))
            try serveWithOperatorAPI()
        }

        func claimgate(_ args: [String]) throws -> Shell.Result { try ClaimgateBinary.run(args + ["--home", home]) }

        /// The last `operator-refused` entry: actor, transport, reason code, subject.
        func lastRefusal() throws -> [String] {
            try sql("SELECT actor, transport, reason_code, subject FROM event WHERE action = 'operator-refused' ORDER BY seq DESC LIMIT 1")
                .split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        }

        func problem(_ body: String) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any], "not JSON: \(body)")
        }
    }

    /// One representative action each role may take, and one it may not (docs/operators.md).
    struct RoleCase: Sendable, CustomTestStringConvertible {
        let role: String
        let allowed: (path: String, args: [String])
        let refused: (path: String, args: [String], action: String)
        var testDescription: String { role }
    }

    static let roleCases: [RoleCase] = [
        RoleCase(role: "claims-operator", allowed: ("/v1/bundles", []), refused: ("/v1/audit/verify", [], "audit-verify")),
        RoleCase(role: "partner-admin", allowed: ("/v1/partners/\(GatewayUnderTest.sftpPartner)/suspend", ["-X", "POST"]),
                 refused: ("/v1/inbox", [], "inbox-list")),
        RoleCase(role: "auditor", allowed: ("/v1/audit/verify", []), refused: ("/v1/purge", ["-X", "POST"], "purge")),
        RoleCase(role: "security-officer", allowed: ("/v1/operators", []), refused: ("/v1/bundles", [], "bundle-list")),
    ]

    @Test(arguments: roleCases)
    func eachRoleIsAllowedAndRefusedThroughTheAPIAsTheTableSays(_ c: RoleCase) throws {
        let s = try Setup()
        let name = "op-" + c.role.prefix(6).replacingOccurrences(of: "-", with: "")
        let op = try s.addOperator(name, roles: c.role)
        let fingerprint = try s.certificateSHA256(op.cert)

        let allowed = try s.operatorCurl(c.allowed.path, c.allowed.args, as: op)
        #expect(allowed.status == "200", "\(c.role) \(c.allowed.path): \(allowed.body)")

        let refused = try s.operatorCurl(c.refused.path, c.refused.args, as: op)
        #expect(refused.status == "403", "\(c.role) \(c.refused.path): \(refused.body)")
        #expect(refused.result.stdout.contains("\"code\":\"not-permitted\""))
        let problem = try s.problem(refused.body)
        #expect(problem["code"] as? String == "not-permitted")
        #expect(problem["reason"] as? String == "role-missing")
        #expect(problem["exit_status"] as? Int == 77)
        #expect(try s.lastRefusal() == ["operator:\(name);sha256=\(fingerprint)", "operator-api", "role-missing", c.refused.action])

        // The allowed action, when it changes something, names the operator and the API too.
        if c.role == "partner-admin" {
            #expect(try s.sql("SELECT actor, transport FROM event WHERE action = 'partner-suspended'")
                    == "operator:\(name);sha256=\(fingerprint)|operator-api")
        }
        try s.ok(s.claimgate(["audit", "verify"]))
    }

    @Test func certificatesTheOperatorCADidNotIssueAreRefusedAtTheHandshake() throws {
        let s = try Setup()
        let claire = try s.addOperator("claire", roles: "claims-operator")
        #expect(try s.operatorCurl("/v1/bundles", as: claire).status == "200")
        let before = try s.sql("SELECT count(*) FROM event")

        // A partner's client certificate (from its own CA, which the partner API trusts).
        let partner = (cert: "\(s.pki)/\(GatewayUnderTest.httpsPartner)/tls-client.pem", key: "\(s.pki)/\(GatewayUnderTest.httpsPartner)/tls-client.key")
        // A certificate of a foreign CA that names an existing operator: names decide nothing.
        let foreign = s.dir.path + "/foreign"
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: true)
        try s.ok(Shell.bash("""
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj '/CN=ClaimGate Operator CA' \
              -keyout ca.key -out ca.pem -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null &&
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '/CN=claire' -keyout claire.key -out claire.csr 2>/dev/null &&
            printf 'extendedKeyUsage=clientAuth\\nkeyUsage=critical,digitalSignature\\n' > ext &&
            openssl x509 -req -in claire.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile ext -out claire.pem 2>/dev/null
            """, directory: foreign))
        let refusedCredentials: [(String, (cert: String, key: String)?)] = [
            ("partner", partner), ("foreign CA", (cert: foreign + "/claire.pem", key: foreign + "/claire.key")), ("no certificate", nil)]
        for (what, credential) in refusedCredentials {
            let r = try s.operatorCurl("/v1/bundles", as: credential)
            #expect(r.status == "000", "\(what): \(r.result.stdout)")
            #expect([35, 56, 16].contains(r.result.status), "\(what): curl exit \(r.result.status) \(r.result.stderr)")
        }
        #expect(try s.sql("SELECT count(*) FROM event") == before, "a refused handshake records no operator action")
        #expect(try s.sql("SELECT count(*) FROM event WHERE transport = 'operator-api' AND action != 'operator-refused'") == "0")
    }

    @Test func anOperatorSuspendedWhileServeRunsIsRefusedAtItsNextRequest() throws {
        let s = try Setup()
        let claire = try s.addOperator("claire", roles: "claims-operator")
        #expect(try s.operatorCurl("/v1/bundles", as: claire).status == "200")
        try s.ok(s.claimgate(["operator", "suspend", "claire"]))
        let suspended = Date()
        let refused = try s.operatorCurl("/v1/bundles", as: claire)
        #expect(Date().timeIntervalSince(suspended) < 1)
        #expect(refused.status == "403")
        #expect(try s.problem(refused.body)["reason"] as? String == "operator-suspended")
        try s.ok(s.claimgate(["operator", "resume", "claire"]))
        #expect(try s.operatorCurl("/v1/bundles", as: claire).status == "200")
        try s.ok(s.claimgate(["operator", "remove", "claire"]))
        #expect(try s.problem(try s.operatorCurl("/v1/bundles", as: claire).body)["reason"] as? String == "operator-removed")
    }

    @Test func aMultiMiBDocumentIsSentAndSealedAsAStreamAndOpensWithStockTools() throws {
        let s = try Setup()
        let claire = try s.addOperator("claire", roles: "claims-operator")
        let fingerprint = try s.certificateSHA256(claire.cert)
        let report = try s.dir.write("report.pdf", Data("%PDF-1.5\n".utf8) + Data((0..<(12 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }))

        func upload() throws -> String {
            let r = try s.operatorCurl("/v1/uploads", ["--data-binary", "@" + report, "-H", "Content-Type: application/octet-stream"], as: claire)
            #expect(r.status == "201", "\(r.body)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any])
            #expect(json["sha256"] as? String == (try s.sha256(report)))
            #expect(json["bytes"] as? Int == (12 << 20) + 9)
            return try #require(json["upload"] as? String)
        }
        func order(_ upload: String) -> String {
            #"{"partner":"\#(GatewayUnderTest.sftpPartner)","claim":"CLM-API-1","purpose":"claim-assessment","ttl":"2d","documents":[{"upload":"\#(upload)","name":"damage-report.pdf"}]}"#
        }
        let json = ["-H", "Content-Type: application/json"]

        // send: queued for the partner, recorded as the operator through the API.
        let sent = try s.operatorCurl("/v1/send", json + ["-d", order(try upload())], as: claire)
        #expect(sent.status == "201", "\(sent.body)")
        let bundle = try #require(try JSONSerialization.jsonObject(with: Data(sent.body.utf8)) as? [String: Any])
        let id = try #require(bundle["id"] as? String)
        #expect(try s.sql("SELECT actor, transport FROM event WHERE action = 'queue' AND bundle_id = '\(id)'")
                == "operator:claire;sha256=\(fingerprint)|operator-api")
        // The upload was consumed: naming it again is refused.
        let reused = try s.operatorCurl("/v1/send", json + ["-d", order("00000000-0000-0000-0000-000000000000")], as: claire)
        #expect(reused.status == "404", "\(reused.body)")

        // seal: the sealed file comes back streamed and opens with the stock pipeline.
        let sealedPath = s.dir.path + "/sealed.p7m"
        let sealed = try s.operatorCurl("/v1/seal", json + ["-d", order(try upload()), "-o", sealedPath, "-D", s.dir.path + "/seal-headers"], as: claire)
        #expect(sealed.status == "200", "\(sealed.body)")
        let stock = s.dir.path + "/stock"
        try FileManager.default.createDirectory(atPath: stock, withIntermediateDirectories: true)
        let partner = "\(s.pki)/\(GatewayUnderTest.sftpPartner)"
        try s.ok(Shell.bash("""
            openssl cms -decrypt -binary -inform DER -in '\(sealedPath)' -recip '\(partner)/encryption.pem' -inkey '\(partner)/encryption.key' \
            | openssl cms -verify -binary -inform DER -CAfile '\(s.trust)' -purpose any | tar -x
            """, directory: stock))
        #expect(FileManager.default.contents(atPath: stock + "/documents/damage-report.pdf") == FileManager.default.contents(atPath: report))
        // Nothing is left in the scratch folder: uploads consumed, the sealed file sent and gone.
        let scratch = (try? FileManager.default.subpathsOfDirectory(atPath: s.home + "/scratch")) ?? []
        #expect(scratch.filter { !$0.hasSuffix("uploads") }.isEmpty, "\(scratch)")

        // The queued bundle opens with claimgate open too (read from the outbox).
        let outboxFile = s.home + "/outbox/\(GatewayUnderTest.sftpPartner)/\(id).p7m"
        try s.ok(ClaimgateBinary.run(["open", outboxFile, "--cert", partner + "/encryption.pem", "--key", partner + "/encryption.key",
                                      "--trust", s.trust, "--out", s.dir.path + "/opened"]))
        #expect(FileManager.default.contents(atPath: s.dir.path + "/opened/documents/damage-report.pdf") == FileManager.default.contents(atPath: report))
        try s.ok(s.claimgate(["audit", "verify"]))
    }

    @Test func aSecurityOfficerAddsAnOperatorForItsPublicKeyAndTheKeyNeverLeavesTheClient() throws {
        let s = try Setup()
        let security = try s.addOperator("sam", roles: "security-officer")
        for (name, request) in [("olga", false), ("otto", true)] {
            let key = s.dir.path + "/\(name).key"
            try s.ok(Shell.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]))
            let pem = request ? try Shell.run(["openssl", "req", "-new", "-key", key, "-subj", "/CN=\(name)"]).stdout
                              : try Shell.run(["openssl", "pkey", "-in", key, "-pubout"]).stdout
            let body = String(data: try JSONSerialization.data(withJSONObject: ["name": name, "roles": ["claims-operator"], "public_key": pem]), encoding: .utf8)!
            let added = try s.operatorCurl("/v1/operators", ["-H", "Content-Type: application/json", "-d", body], as: security)
            #expect(added.status == "201", "\(added.body)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(added.body.utf8)) as? [String: Any])
            let chain = try s.dir.write("\(name).pem", try #require(json["certificate_chain_pem"] as? String))
            #expect(!added.body.contains("PRIVATE KEY"))
            // The new operator acts with its own key and the chain it got back.
            #expect(try s.operatorCurl("/v1/bundles", as: (chain, key)).status == "200")
            #expect(try s.sql("SELECT actor, transport FROM event WHERE action = 'operator-added' AND subject LIKE '\(name) %'")
                    == "operator:sam;sha256=\(try s.certificateSHA256(security.cert))|operator-api")
        }
        // Anything but a public key or a certificate request is refused, and nothing is added.
        let garbage = String(data: try JSONSerialization.data(withJSONObject: ["name": "eve", "roles": ["auditor"], "public_key": "not a key"]), encoding: .utf8)!
        let refused = try s.operatorCurl("/v1/operators", ["-H", "Content-Type: application/json", "-d", garbage], as: security)
        #expect(refused.status == "400")
        #expect(try s.sql("SELECT count(*) FROM event WHERE action = 'operator-added' AND subject LIKE 'eve %'") == "0")
    }

    @Test func unknownRoutesAndMethodsAreProblemDocuments() throws {
        let s = try Setup()
        let sec = try s.addOperator("sec", roles: "security-officer")
        let missing = try s.operatorCurl("/v1/nothing", as: sec)
        #expect(missing.status == "404")
        #expect(try s.problem(missing.body)["code"] as? String == "invalid-argument")
        let method = try s.operatorCurl("/v1/operators", ["-X", "DELETE", "-D", "-"], as: sec)
        #expect(method.status == "405")
        #expect(method.body.lowercased().contains("allow: get"))
        let unknown = try s.operatorCurl("/v1/operators/nobody", as: sec)
        #expect(unknown.status == "404")
        #expect(try s.problem(unknown.body)["code"] as? String == "unknown-operator")
        #expect(try s.problem(unknown.body)["exit_status"] as? Int == 66)
    }

    /// Validates the spec and each recorded JSON answer against the operation it came from
    /// (stock `openapi-core`, which brings its own `openapi-spec-validator`, from PyPI).
    static let validator = """
        import json, sys
        from openapi_spec_validator import validate
        from openapi_spec_validator.readers import read_from_filename
        from openapi_core import OpenAPI, Config
        from openapi_core.testing import MockRequest, MockResponse
        spec_path, pairs_path = sys.argv[1], sys.argv[2]
        spec, _ = read_from_filename(spec_path)
        validate(spec)
        api = OpenAPI.from_file_path(spec_path, config=Config(extra_media_type_deserializers={"application/problem+json": json.loads}))
        failures = []
        pairs = json.load(open(pairs_path))
        for p in pairs:
            req = MockRequest("https://127.0.0.1", p["method"].lower(), p["path"], args=p["query"])
            resp = MockResponse(data=p["body"].encode(), status_code=p["status"], content_type=p["content_type"])
            try:
                api.validate_response(req, resp)
            except Exception as e:
                failures.append(f'{p["method"]} {p["path"]} {p["status"]}: {e!r} {e.__cause__!r}')
        print(json.dumps({"checked": len(pairs), "failures": failures}))
        """

    struct Pair: Encodable { let method: String; let path: String; let query: [String: String]; let status: Int; let content_type: String; let body: String }

    @Test(.timeLimit(.minutes(10)))
    func responsesMatchTheSpec() async throws {
        let s = try Setup()
        let claims = try s.addOperator("claire", roles: "claims-operator")
        let admin = try s.addOperator("pat", roles: "partner-admin")
        let auditor = try s.addOperator("audrey", roles: "auditor")
        let security = try s.addOperator("sam", roles: "security-officer")
        let document = try s.dir.write("notes.pdf", Data("%PDF-1.5\n% water damage in the kitchen\n".utf8))
        var pairs: [Pair] = []
        func call(_ method: String, _ path: String, query: [String: String] = [:], body: String? = nil, raw: String? = nil,
                  as op: (cert: String, key: String)) throws -> String {
            let q = query.isEmpty ? "" : "?" + query.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "&")
            var args = ["-X", method]
            if let body { args += ["-H", "Content-Type: application/json", "-d", body] }
            if let raw { args += ["-H", "Content-Type: application/octet-stream", "--data-binary", "@" + raw] }
            let r = try s.operatorCurl(path + q, args, as: op)
            let contentType = r.contentType.split(separator: ";").first.map(String.init) ?? ""
            if contentType.hasSuffix("json") {
                pairs.append(Pair(method: method, path: path, query: query, status: Int(r.status) ?? 0, content_type: contentType, body: r.body))
            }
            return r.body
        }
        let upload = try #require(try JSONSerialization.jsonObject(with: Data(call("POST", "/v1/uploads", raw: document, as: claims).utf8)) as? [String: Any])
        let order = #"{"partner":"\#(GatewayUnderTest.sftpPartner)","claim":"CLM-SPEC-1","purpose":"claim-assessment","ttl":"2d","documents":[{"upload":"\#(upload["upload"] as? String ?? "")","name":"notes.pdf"}]}"#
        let sentBody = try call("POST", "/v1/send", body: order, as: claims)
        let sent = try #require(try JSONSerialization.jsonObject(with: Data(sentBody.utf8)) as? [String: Any])
        let id = try #require(sent["id"] as? String, "\(sentBody)")
        _ = try call("POST", "/v1/send", body: "{}", as: claims)                      // 400
        _ = try call("GET", "/v1/bundles", as: claims)
        _ = try call("GET", "/v1/bundles", query: ["partner": GatewayUnderTest.sftpPartner], as: admin)
        _ = try call("GET", "/v1/bundles/\(id)", as: claims)
        _ = try call("GET", "/v1/bundles/00000000-0000-0000-0000-000000000000", as: claims)   // 404
        _ = try call("GET", "/v1/deliveries", as: admin)
        _ = try call("GET", "/v1/deliveries", query: ["state": "nonsense"], as: admin)        // 400
        _ = try call("GET", "/v1/inbox", as: auditor)
        _ = try call("GET", "/v1/inbox", as: admin)                                           // 403
        _ = try call("GET", "/v1/partners", as: security)
        _ = try call("GET", "/v1/partners/\(GatewayUnderTest.sftpPartner)", as: claims)
        _ = try call("POST", "/v1/partners/\(GatewayUnderTest.sftpPartner)/suspend", body: #"{"reason":"spec test"}"#, as: admin)
        _ = try call("POST", "/v1/partners/\(GatewayUnderTest.sftpPartner)/resume", as: admin)
        _ = try call("POST", "/v1/bundles/\(id)/recall", body: #"{"reason":"sent in error"}"#, as: admin)
        _ = try call("GET", "/v1/audit/verify", as: auditor)
        _ = try call("GET", "/v1/audit/report", query: ["month": "2026-11"], as: auditor)
        _ = try call("GET", "/v1/audit/impact", query: ["partner": GatewayUnderTest.sftpPartner], as: auditor)
        _ = try call("GET", "/v1/doctor", as: security)
        _ = try call("POST", "/v1/purge", as: security)
        _ = try call("GET", "/v1/operators", as: auditor)
        let key = s.dir.path + "/olga.key"
        try s.ok(Shell.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]))
        let publicKey = try Shell.run(["openssl", "pkey", "-in", key, "-pubout"]).stdout
        let addBody = String(data: try JSONSerialization.data(withJSONObject: ["name": "olga", "roles": ["auditor"], "public_key": publicKey]), encoding: .utf8)!
        _ = try call("POST", "/v1/operators", body: addBody, as: security)
        _ = try call("POST", "/v1/operators", body: addBody, as: security)                    // 409: exists
        _ = try call("GET", "/v1/operators/claire", as: security)
        _ = try call("GET", "/v1/operators/nobody", as: security)                             // 404
        _ = try call("POST", "/v1/operators/pat/grant", body: #"{"right":"auditor"}"#, as: security)
        _ = try call("POST", "/v1/operators/pat/revoke", body: #"{"right":"auditor"}"#, as: security)
        _ = try call("POST", "/v1/operators/pat/suspend", as: security)
        _ = try call("POST", "/v1/operators/pat/resume", as: security)
        _ = try call("POST", "/v1/operators/pat/remove", as: security)
        _ = try call("POST", "/v1/operators/pat/resume", as: security)                        // 400: removed
        _ = try call("POST", "/v1/partners/\(GatewayUnderTest.sftpPartner)/remove", body: #"{"force":true}"#, as: admin)   // 403: pat was removed
        // Partners from the files sent, deliveries retried and cancelled, four eyes: pia is the
        // only active partner admin at first, so its changes apply at once.
        let pia = try s.addOperator("pia", roles: "partner-admin")
        let stm = GatewayUnderTest.httpsPartner
        let push = "{push: {https: {url: \"https://127.0.0.1:9/bundles\"}}, pull: [https]}"
        let stmAdd = try OperatorAPIChangesEndToEndTests.stMarysRequest(s, reference: "DSA-SPEC-2", delivery: push)
        _ = try call("POST", "/v1/partners", body: stmAdd, as: pia)                                       // 201
        _ = try call("POST", "/v1/partners", body: stmAdd, as: pia)                                       // 409: exists
        let stmUpdate = try OperatorAPIChangesEndToEndTests.stMarysRequest(s, reference: "DSA-SPEC-3", delivery: push)
        _ = try call("PUT", "/v1/partners/\(stm)", body: stmUpdate, as: pia)
        _ = try call("PUT", "/v1/partners/\(GatewayUnderTest.sftpPartner)", body: stmUpdate, as: pia)     // 400: another id
        _ = try call("POST", "/v1/partners/\(stm)/rotate", body: #"{"encryption_file":"/client/next.pem","files":{}}"#, as: pia)   // 404
        let upload2 = try #require(try JSONSerialization.jsonObject(with: Data(call("POST", "/v1/uploads", raw: document, as: claims).utf8)) as? [String: Any])
        let order2 = #"{"partner":"\#(stm)","claim":"CLM-SPEC-2","purpose":"claim-assessment","ttl":"2d","documents":[{"upload":"\#(upload2["upload"] as? String ?? "")","name":"notes.pdf"}]}"#
        let pushed = try #require(try JSONSerialization.jsonObject(with: Data(call("POST", "/v1/send", body: order2, as: claims).utf8)) as? [String: Any])
        let pushedID = try #require(pushed["id"] as? String)
        _ = try call("POST", "/v1/deliveries/\(pushedID)/retry", as: pia)
        _ = try call("POST", "/v1/deliveries/\(pushedID)/cancel", body: #"{"reason":"spec test"}"#, as: claims)   // 403
        _ = try call("POST", "/v1/deliveries/\(pushedID)/cancel", body: #"{"reason":"spec test"}"#, as: pia)
        _ = try call("POST", "/v1/deliveries/\(pushedID)/retry", as: pia)                                // 409: cancelled
        _ = try call("POST", "/v1/deliveries/\(id)/retry", as: pia)                                      // 404: pulled, no push
        _ = try s.addOperator("quinn", roles: "partner-admin")
        let quinn = (cert: s.dir.path + "/operators/quinn.pem", key: s.dir.path + "/operators/quinn.key")
        let waiting = try #require(try JSONSerialization.jsonObject(with: Data(call("PUT", "/v1/partners/\(stm)",
            body: try OperatorAPIChangesEndToEndTests.stMarysRequest(s, reference: "DSA-SPEC-4", delivery: push), as: pia).utf8)) as? [String: Any])
        let pendingID = try #require(waiting["pending"] as? String, "\(waiting)")
        _ = try call("GET", "/v1/pending", as: auditor)
        _ = try call("GET", "/v1/pending", query: ["all": "true"], as: auditor)
        _ = try call("GET", "/v1/pending/\(pendingID)", as: quinn)
        _ = try call("GET", "/v1/pending/nosuchchng", as: quinn)                                          // 404
        _ = try call("POST", "/v1/pending/\(pendingID)/approve", as: pia)                                 // 403: its proposer
        _ = try call("POST", "/v1/pending/\(pendingID)/approve", as: quinn)
        _ = try call("POST", "/v1/pending/\(pendingID)/withdraw", as: pia)                                // 409: approved
        let removal = try #require(try JSONSerialization.jsonObject(with: Data(call("POST", "/v1/partners/\(stm)/remove",
            body: #"{"force":true}"#, as: pia).utf8)) as? [String: Any])
        _ = try call("POST", "/v1/pending/\(try #require(removal["pending"] as? String))/withdraw", as: pia)
        #expect(pairs.count >= 50)
        #expect(Set(pairs.map(\.status)).isSuperset(of: [200, 201, 202, 400, 403, 404, 409]))

        let pairsFile = s.dir.file("pairs.json")
        try JSONEncoder().encode(pairs).write(to: URL(fileURLWithPath: pairsFile))
        let venv = s.dir.file("venv")
        let made = try await Shell.runDetached(["python3", "-m", "venv", venv])
        try #require(made.succeeded, "python3 -m venv failed: \(made.stderr)")
        let pip = try await Shell.runDetached([venv + "/bin/pip", "install", "--disable-pip-version-check", "--quiet", "--timeout", "60", "openapi-core"])
        try #require(pip.succeeded, "pip could not install openapi-core from PyPI, so the answers were NOT validated: \(pip.stderr.suffix(1_500))")
        let run = try await Shell.runDetached([venv + "/bin/python", "-c", Self.validator, OperatorAPISpec.path, pairsFile])
        try #require(run.succeeded, "validation failed to run: \(run.stderr.suffix(3_000))")
        struct Verdict: Decodable { let checked: Int; let failures: [String] }
        let verdict = try JSONDecoder().decode(Verdict.self, from: run.stdoutData)
        #expect(verdict.checked == pairs.count)
        #expect(verdict.failures.isEmpty, "\(verdict.failures.joined(separator: "\n"))")
        try s.ok(s.claimgate(["audit", "verify"]))
    }
}

enum OperatorAPISpec {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/operator-api.yaml").path
}
