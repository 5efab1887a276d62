import ClaimGateTesting
import Foundation
import Testing

/// `claimgate operator password` and `operator totp` through the built binary: the password from
/// standard input (never echoed, never stored as typed), the URI an authenticator app reads (Python's
/// urllib and base64 parse it), and the same commands against a remote gateway as a security
/// officer, refused for anyone else.
@Suite struct ConsoleCredentialsEndToEndTests {
    final class Setup: GatewayUnderTest, @unchecked Sendable {
        init(api: Bool = false) throws {
            try super.init("claimgate-console-credentials")
            if api { try serveWithOperatorAPI() }
        }

        func claimgate(_ args: [String], stdin: String? = nil, environment: [String: String] = [:]) throws -> Shell.Result {
            try Shell.run([ClaimgateBinary.path] + args + ["--home", home], stdin: stdin.map { Data($0.utf8) }, environment: environment)
        }

        func remote(_ args: [String], stdin: String? = nil, as credential: (cert: String, key: String)) throws -> Shell.Result {
            try Shell.run([ClaimgateBinary.path] + args, stdin: stdin.map { Data($0.utf8) }, environment: [
                "CLAIMGATE_GATEWAY": "https://127.0.0.1:\(operatorAPIPort)", "CLAIMGATE_GATEWAY_CA": trust,
                "CLAIMGATE_OPERATOR_CERT": credential.cert, "CLAIMGATE_OPERATOR_KEY": credential.key,
                "CLAIMGATE_HOME": dir.path + "/no-home",
            ], directory: dir.path)
        }
    }

    /// The secret of an `otpauth://` URI, decoded as an authenticator app does (Python).
    static func secret(of uri: String) throws -> Shell.Result {
        try Shell.run(["python3", "-c", """
            import sys, base64, urllib.parse as u
            p = u.urlparse(sys.argv[1]); q = u.parse_qs(p.query)
            assert p.scheme == 'otpauth' and p.netloc == 'totp', p
            assert u.unquote(p.path) == '/ClaimGate:claire', p.path
            assert q['issuer'] == ['ClaimGate'], q
            s = q['secret'][0]; key = base64.b32decode(s + '=' * (-len(s) % 8))
            assert len(key) >= 20, len(key)
            print(len(key))
            """, uri])
    }

    @Test func passwordFromStandardInputAndAURIForAnAuthenticator() throws {
        let s = try Setup()
        _ = try s.addOperator("claire", roles: "claims-operator")
        let password = "tr0ub4dor & 3 horses"
        let set = try s.claimgate(["operator", "password", "claire"], stdin: password + "\n")
        try s.ok(set)
        #expect(set.stdout == "Set the console password of operator claire.\n")
        #expect(!set.stdout.contains(password) && !set.stderr.contains(password))
        // Kept as bcrypt; the password itself is nowhere in the database file.
        #expect(try s.sql("SELECT substr(password_hash, 1, 4) FROM operator_console WHERE name = 'claire'") == "$2b$")
        let db = try Data(contentsOf: URL(fileURLWithPath: s.database))
        #expect(db.range(of: Data(password.utf8)) == nil)

        let totp = try s.claimgate(["operator", "totp", "claire"])
        try s.ok(totp)
        let uri = totp.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let parsed = try Self.secret(of: uri)
        try s.ok(parsed)
        // Recorded at the shell, with the operator and what changed; no secret in the trail.
        #expect(try s.sql("SELECT action, reason FROM event WHERE action LIKE 'operator-%-%' AND action <> 'operator-added' ORDER BY seq")
                == "operator-password-set|operator-change: claire console-password\noperator-totp-enrolled|operator-change: claire console-totp")

        // Bad input: a clear sentence and exit 64.
        let short = try s.claimgate(["operator", "password", "claire"], stdin: "short\n")
        #expect(short.status == 64)
        #expect(short.stderr.contains("at least 12"))
        let none = try s.claimgate(["operator", "password", "claire"], stdin: "")
        #expect(none.status == 64)
        #expect(none.stderr.contains("standard input"))
        let nobody = try s.claimgate(["operator", "password", "nobody"], stdin: password + "\n")
        #expect(nobody.status == 66)
    }

    @Test func aSecurityOfficerSetsThemRemotelyAndNobodyElse() throws {
        let s = try Setup(api: true)
        let officer = try s.addOperator("sec", roles: "security-officer")
        let claims = try s.addOperator("claire", roles: "claims-operator")
        let set = try s.remote(["operator", "password", "claire"], stdin: "a long enough password\n", as: officer)
        try s.ok(set)
        #expect(set.stdout == "Set the console password of operator claire.\n")
        let totp = try s.remote(["operator", "totp", "claire"], as: officer)
        try s.ok(totp)
        try s.ok(try Self.secret(of: totp.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let refused = try s.remote(["operator", "password", "claire"], stdin: "a long enough password\n", as: claims)
        #expect(refused.status == 77)
        #expect(refused.stderr.contains("operator-credentials") || refused.stderr.contains("not allowed") || refused.stderr.contains("role"))
        let fingerprint = try s.certificateSHA256(officer.cert)
        #expect(try s.sql("SELECT actor, transport FROM event WHERE action = 'operator-password-set'") == "operator:sec;sha256=\(fingerprint)|operator-api")
        #expect(try s.sql("SELECT reason FROM event WHERE action = 'operator-refused'") == "role-missing: operator-credentials")
    }
}
