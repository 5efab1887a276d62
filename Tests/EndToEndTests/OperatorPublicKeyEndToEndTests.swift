import ClaimGateTesting
import Foundation
import Testing

/// `POST /v1/operators` with a public key when a second security officer must agree: `202
/// {"pending": ID}`, the shell approves it (`claimgate approve ID --yes`), the certificate is
/// issued for the key sent (no private key made at the gateway), and the chain is served by
/// `GET /v1/operators/{name}/certificate` and printed by `claimgate operator certificate NAME`.
@Suite struct OperatorPublicKeyEndToEndTests {
    @Test func anAdditionThatWaitsKeepsTheKeyAndItsChainIsServedOnceApproved() throws {
        let s = try OperatorAPIEndToEndTests.Setup()
        let sam = try s.addOperator("sam", roles: "security-officer")
        try s.addOperator("sue", roles: "security-officer")
        let key = s.dir.path + "/olga.key"
        try s.openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key])
        let publicKey = try s.openssl(["pkey", "-in", key, "-pubout"]) + "\n"
        let body = String(data: try JSONSerialization.data(withJSONObject: ["name": "olga", "roles": ["security-officer"], "public_key": publicKey]), encoding: .utf8)!

        let added = try s.operatorCurl("/v1/operators", ["-H", "Content-Type: application/json", "-d", body], as: sam)
        #expect(added.status == "202", "\(added.body)")
        let id = try #require((try JSONSerialization.jsonObject(with: Data(added.body.utf8)) as? [String: Any])?["pending"] as? String)
        #expect(try s.sql("SELECT count(*) FROM operator WHERE name = 'olga'") == "0")
        #expect(try s.sql("SELECT transport FROM event WHERE action = 'change-proposed'") == "operator-api")
        #expect(try s.operatorCurl("/v1/operators/olga/certificate", as: sam).status == "404")

        let out = s.dir.path + "/approved"
        let approved = try s.claimgate(["approve", id, "--yes", "--out", out])
        try s.ok(approved)
        #expect(approved.stdout.contains("holds its private key"))
        #expect(FileManager.default.fileExists(atPath: out + "/olga.pem"))
        #expect(!FileManager.default.fileExists(atPath: out + "/olga.key"))

        let served = try s.operatorCurl("/v1/operators/olga/certificate", as: sam)
        #expect(served.status == "200", "\(served.body)")
        #expect(served.contentType == "application/pem-certificate-chain")
        let chain = try s.dir.write("olga-chain.pem", served.body)
        #expect(try s.openssl(["x509", "-in", chain, "-noout", "-pubkey"]) + "\n" == publicKey)
        #expect(served.body == (try String(contentsOfFile: out + "/olga.pem", encoding: .utf8)))
        let printed = try s.claimgate(["operator", "certificate", "olga"])
        try s.ok(printed)
        #expect(printed.stdout == served.body)
        // Olga acts with the key that never left her machine and the chain she got.
        #expect(try s.operatorCurl("/v1/operators", as: (chain, key)).status == "200")
        #expect(try s.sql("SELECT action FROM event WHERE action IN ('change-proposed', 'change-approved', 'operator-added') AND (subject LIKE 'olga %' OR subject LIKE '% olga %') ORDER BY seq")
                == "change-proposed\nchange-approved\noperator-added")
        try s.ok(s.claimgate(["audit", "verify"]))
    }
}
