import ClaimGateCore
import ClaimGateTesting
@testable import Console
import Foundation
@testable import Operations
import Testing

/// Operators through a real console with stock `curl`: a security officer adds one by its public
/// key (made by `openssl` here, the private key never sent), gives it a grant, suspends and
/// resumes it, each recorded with transport `console` and the officer's session as actor; other
/// operators get `403`, recorded.
@Suite(.serialized) struct ConsoleOperatorsTests {
    static let password = ConsoleSessionTests.password
    static let shell = Principal.local(uid: 1000, name: "test")
    let console: ConsoleTestServer
    var gateway: Gateway { console.gateway }

    init() throws {
        console = try ConsoleTestServer()
        for (name, roles) in [("sofia", Set([Role.securityOfficer])), ("claire", [.claimsOperator]), ("audrey", [.auditor])] {
            _ = try console.gateway.addOperator(name, roles: roles, by: Self.shell).requireApplied()
            try console.enrol(name, password: Self.password)
        }
    }

    /// The operator's TOTP code, `offset` steps from now (`ConsoleTestServer.code`).
    func code(_ name: String, offset: Int64 = 0) throws -> String { try console.code(name, offset: offset) }

    func signedIn(_ port: Int, _ name: String) async throws -> ConsoleSessionTests.Browser {
        let b = ConsoleSessionTests.Browser(console: console, port: port, jar: console.dir.file("jar-\(UUID().uuidString.prefix(8))"))
        let answer = try await b.signIn(name, password: Self.password, totp: try code(name))
        try #require(answer.status == 303, "\(name) could not sign in")
        return b
    }

    func events(_ action: String) throws -> [StoredEvent] { try gateway.store.events().filter { $0.action == action } }

    @Test(.timeLimit(.minutes(3)))
    func aSecurityOfficerAddsAnOperatorByItsPublicKeyGrantsAndSuspendsIt() async throws {
        let key = console.dir.file("olga-key.pem"), pub = console.dir.file("olga-pub.pem")
        let made = try await Shell.runDetached(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key])
        try #require(made.succeeded, "\(made.stderr)")
        let exported = try await Shell.runDetached(["openssl", "pkey", "-in", key, "-pubout", "-out", pub])
        try #require(exported.succeeded, "\(exported.stderr)")
        let publicKey = try String(contentsOfFile: pub, encoding: .utf8)

        try await console.serve { port in
            let b = try await signedIn(port, "sofia")
            let list = try await b.get("/operators")
            #expect(list.status == 200)
            for id in ["operators", "operator-add-form", "operator-name", "operator-role-claims-operator", "operator-grant-inbox-export",
                       "operator-partners", "operator-days", "operator-public-key", "operator-add-submit"] {
                #expect(list.body.contains("id=\"\(id)\""), "\(id)")
            }
            #expect(list.body.contains("href=\"/operators/claire\""))
            let csrf = ConsoleSessionTests.Browser.csrf(list.body)

            let added = try await b.post("/operators", [("csrf", csrf), ("name", "olga"), ("role", "claims-operator"),
                                                        ("role", "auditor"), ("days", "30"), ("public_key", publicKey)])
            #expect(added.status == 200)
            #expect(added.body.contains("id=\"operator-chain\"") && added.body.contains("BEGIN CERTIFICATE"))
            #expect(!added.body.contains("PRIVATE KEY"))
            let olga = try gateway.operator("olga", by: Self.shell)
            #expect(olga.roles == [.claimsOperator, .auditor])
            // The certificate was issued for the key the officer pasted.
            let chain = try console.dir.write("olga-chain.pem", try gateway.operatorCertificateChainPEM("olga", by: Self.shell))
            let issuedKey = try await Shell.runDetached(["openssl", "x509", "-in", chain, "-noout", "-pubkey"])
            #expect(issuedKey.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == publicKey.trimmingCharacters(in: .whitespacesAndNewlines))

            let show = try await b.get("/operators/olga")
            #expect(show.status == 200)
            for id in ["operator", "operator-state", "operator-console", "console-password", "console-totp", "console-locked",
                       "grant-form", "grant-right", "revoke-form", "revoke-right", "suspend-operator-form"] {
                #expect(show.body.contains("id=\"\(id)\""), "\(id)")
            }
            #expect(!show.body.contains("id=\"resume-operator-form\""))
            let granted = try await b.post("/operators/olga/grant", [("csrf", csrf), ("right", "inbox-export")])
            #expect(granted.status == 303)
            #expect(granted.headers["location"] == "/operators/olga")
            #expect(try gateway.operator("olga", by: Self.shell).grants == [.inboxExport])
            let suspended = try await b.post("/operators/olga/suspend", [("csrf", csrf)])
            #expect(suspended.status == 303)
            #expect(try gateway.operator("olga", by: Self.shell).state == .suspended)
            #expect(try await b.get("/operators/olga").body.contains("id=\"resume-operator-form\""))
            let revoked = try await b.post("/operators/olga/revoke", [("csrf", csrf), ("right", "auditor")])
            #expect(revoked.status == 303)
            let resumed = try await b.post("/operators/olga/resume", [("csrf", csrf)])
            #expect(resumed.status == 303)
            #expect(try gateway.operator("olga", by: Self.shell).state == .active)
            #expect(try gateway.operator("olga", by: Self.shell).roles == [.claimsOperator])

            for action in ["operator-added", "operator-granted", "operator-suspended", "operator-revoked", "operator-resumed"] {
                let recorded = try events(action).filter { $0.reason?.contains("olga") == true }
                #expect(recorded.count == 1, "\(action)")
                #expect(recorded.allSatisfy { $0.actor.hasPrefix("operator:sofia;session=") && $0.transport == "console" }, "\(action)")
            }
            // A change the operation refuses shows the form again with its sentence.
            let again = try await b.post("/operators/olga/grant", [("csrf", csrf), ("right", "inbox-export")])
            #expect(again.status == 400)
            #expect(again.body.contains("id=\"error\"") && again.body.contains("already has the grant"))
            let noKey = try await b.post("/operators", [("csrf", csrf), ("name", "otto"), ("role", "auditor"), ("public_key", "")])
            #expect(noKey.status == 400)
            #expect(noKey.body.contains("id=\"error\""))
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func operatorsWhoAreNotSecurityOfficersAreRefusedAndRecorded() async throws {
        try await console.serve { port in
            let claire = try await signedIn(port, "claire")
            let home = try await claire.get("/")
            #expect(!home.body.contains("id=\"purge-link\""))
            #expect(try await claire.get("/operators").status == 403)
            let suspend = try await claire.post("/operators/audrey/suspend", [("csrf", ConsoleSessionTests.Browser.csrf(home.body))])
            #expect(suspend.status == 403)
            #expect(suspend.body.contains("id=\"error\""))
            #expect(try gateway.operator("audrey", by: Self.shell).state == .active)
            let refused = try events("operator-refused").filter { $0.reasonCode == "role-missing" && $0.actor.hasPrefix("operator:claire;session=") }
            #expect(refused.count == 2)
            #expect(refused.allSatisfy { $0.transport == "console" })

            // An auditor reads the operators, but is offered no form, and a form posted anyway is refused.
            let audrey = try await signedIn(port, "audrey")
            let list = try await audrey.get("/operators")
            #expect(list.status == 200)
            #expect(!list.body.contains("id=\"operator-add-form\""))
            let show = try await audrey.get("/operators/claire")
            #expect(show.status == 200)
            #expect(show.body.contains("id=\"operator-console\""))
            for id in ["grant-form", "revoke-form", "suspend-operator-form"] { #expect(!show.body.contains("id=\"\(id)\""), "\(id)") }
            let grant = try await audrey.post("/operators/claire/grant", [("csrf", ConsoleSessionTests.Browser.csrf(list.body)), ("right", "auditor")])
            #expect(grant.status == 403)
            #expect(try events("operator-refused").contains { $0.reasonCode == "role-missing" && $0.actor.hasPrefix("operator:audrey;session=") })
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func givingSecurityOfficerWhileTwoHoldItWaitsForASecondOfficer() async throws {
        _ = try gateway.addOperator("sam", roles: [.securityOfficer], by: Self.shell).requireApplied()
        let key = console.dir.file("otto-key.pem"), pub = console.dir.file("otto-pub.pem")
        #expect(try await Shell.runDetached(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]).succeeded)
        #expect(try await Shell.runDetached(["openssl", "pkey", "-in", key, "-pubout", "-out", pub]).succeeded)
        let publicKey = try String(contentsOfFile: pub, encoding: .utf8)
        try await console.serve { port in
            let b = try await signedIn(port, "sofia")
            let csrf = ConsoleSessionTests.Browser.csrf(try await b.get("/operators").body)
            let grant = try await b.post("/operators/claire/grant", [("csrf", csrf), ("right", "security-officer")])
            #expect(grant.status == 303)
            let grantPending = try #require(grant.headers["location"])
            #expect(grantPending.hasPrefix("/pending/"))
            #expect(try gateway.operator("claire", by: Self.shell).roles == [.claimsOperator])
            let add = try await b.post("/operators", [("csrf", csrf), ("name", "otto"), ("role", "security-officer"), ("public_key", publicKey)])
            #expect(add.status == 303)
            #expect(add.headers["location"]?.hasPrefix("/pending/") == true && add.headers["location"] != grantPending)
            #expect((try? gateway.operator("otto", by: Self.shell)) == nil)
            let proposed = try events("change-proposed")
            #expect(proposed.count == 2)
            #expect(proposed.allSatisfy { $0.actor.hasPrefix("operator:sofia;session=") && $0.transport == "console" })
        }
    }
}

extension ConsoleSessionTests.Browser {
    /// Posts fields in order, a name as often as it is given (checkboxes).
    func post(_ path: String, _ fields: [(String, String)]) async throws -> Answer {
        var args = ["-b", jar, "-c", jar, "-X", "POST", "-H", "Origin: \(origin)"]
        for (k, v) in fields { args += ["--data-urlencode", "\(k)=\(v)"] }
        return try await console.curl(port, path, args)
    }
}
