import ClaimGateCore
import ClaimGateTesting
@testable import Console
import Foundation
@testable import Operations
import Testing

/// The inbox and purge through a real console with stock `curl` and `tar`: a report's page, its
/// export as one `.tar` after the TOTP again (a wrong code refused and recorded; the documents
/// equal what was stored), `403` without the grant, and purge with the TOTP.
@Suite(.serialized) struct ConsoleInboxTests {
    static let password = ConsoleSessionTests.password
    static let shell = Principal.local(uid: 1000, name: "test")
    static let pdf = Data("%PDF-1.4\n% sample claim report\n%%EOF\n".utf8)
    let console: ConsoleTestServer
    var gateway: Gateway { console.gateway }
    /// The accepted report in the fixture, received ten days ago.
    let report: InboundReport
    let documents: [String: Data]

    init() throws {
        console = try ConsoleTestServer()
        for (name, roles, grants) in [("claire", Set([Role.claimsOperator]), Set([OperatorGrant.inboxExport])),
                                      ("carl", [.claimsOperator], []), ("sofia", [.securityOfficer], [])] {
            _ = try console.gateway.addOperator(name, roles: roles, grants: grants, by: Self.shell).requireApplied()
            try console.enrol(name, password: Self.password)
        }
        // An accepted report as `processInbound` stores one: its documents, its manifest and the
        // sealed original under `inbound-reports/<id>/`, and the record with `inbound-accepted`.
        // One name is not ASCII, so the archive needs a pax header for it.
        let png = Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")!
        let big = Data((0..<700_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        documents = ["report.pdf": Self.pdf, "现场照片-车辆右前门.png": png, "scan.bin": big]
        let id = UUID(), received = Date().addingTimeInterval(-10 * 86_400)
        let stored = console.gateway.home.root + "/inbound-reports/" + id.uuidString.lowercased()
        try FileManager.default.createDirectory(atPath: stored + "/documents", withIntermediateDirectories: true)
        var described: [BundleManifest.Document] = []
        for (name, data) in documents.sorted(by: { $0.key < $1.key }) {
            try data.write(to: URL(fileURLWithPath: stored + "/documents/" + name))
            described.append(.init(name: name, mediaType: name.hasSuffix(".png") ? "image/png" : "application/pdf",
                                   size: Int64(data.count), sha256: try Self.sha256(stored + "/documents/" + name)))
        }
        let bundleID = BundleID.random()
        let manifest = try BundleManifest(bundleID: bundleID, claimID: "CLM-2026-7", sender: .init(gatewayID: "acme-assessors", signingCertificateSHA256: "00"),
                                          recipient: .init(partnerID: "test-gateway", encryptionCertificateSHA256: "00"),
                                          agreementReference: "DSA-TEST-1", purpose: "claim-assessment", consentReference: nil,
                                          created: received, expires: received.addingTimeInterval(30 * 86_400), metadata: [:], documents: described).encoded()
        try manifest.write(to: URL(fileURLWithPath: stored + "/manifest.json"))
        try Data("sealed".utf8).write(to: URL(fileURLWithPath: stored + "/report.p7m"))
        let partner = try PartnerID("acme-assessors")
        report = InboundReport(id: id, partnerID: partner, fileName: "report.p7m", received: received, bytes: 6, state: .accepted,
                               transport: .sftp, bundleID: bundleID, claimID: "CLM-2026-7", purpose: "claim-assessment",
                               manifestJSON: manifest, storedPath: stored)
        try console.gateway.store.insertInbound(report, event: TransferEvent(time: received, actor: .partner(partner), action: .inboundAccepted,
                                                                     outcome: .success, partnerID: partner, transport: .sftp))
    }

    var reportID: String { report.id.uuidString.lowercased() }

    /// A file's SHA-256 as stock `sha256sum` prints it.
    static func sha256(_ path: String) throws -> String {
        let r = try Shell.run(["sha256sum", path])
        try #require(r.succeeded, "\(r.stderr)")
        return String(r.stdout.prefix { $0 != " " })
    }

    /// The same, on a thread of its own, while the console runs in this process.
    static func sha256Detached(_ path: String) async throws -> String {
        let r = try await Shell.runDetached(["sha256sum", path])
        try #require(r.succeeded, "\(r.stderr)")
        return String(r.stdout.prefix { $0 != " " })
    }

    func code(_ name: String, offset: Int64 = 0) throws -> String { try console.code(name, offset: offset) }

    /// Signed in with the previous step's code, so the current one is left for the confirmation.
    func signedIn(_ port: Int, _ name: String) async throws -> ConsoleSessionTests.Browser {
        let b = ConsoleSessionTests.Browser(console: console, port: port, jar: console.dir.file("jar-\(UUID().uuidString.prefix(8))"))
        let answer = try await b.signIn(name, password: Self.password, totp: try code(name, offset: -1))
        try #require(answer.status == 303, "\(name) could not sign in")
        return b
    }

    func events(_ action: String) throws -> [StoredEvent] { try gateway.store.events().filter { $0.action == action } }

    @Test(.timeLimit(.minutes(3)))
    func anExportAsksForTheCodeAndDownloadsTheDocumentsAsATar() async throws {
        try await console.serve { port in
            let b = try await signedIn(port, "claire")
            let list = try await b.get("/inbox")
            #expect(list.body.contains("href=\"/inbox/\(reportID)\""))
            let page = try await b.get("/inbox/\(reportID)")
            #expect(page.status == 200)
            for id in ["report", "report-state", "report-reason", "documents", "export-form", "export-totp", "export-submit"] {
                #expect(page.body.contains("id=\"\(id)\""), "\(id)")
            }
            #expect(page.body.contains("现场照片-车辆右前门.png"))
            let csrf = ConsoleSessionTests.Browser.csrf(page.body)

            // A wrong code: refused, recorded, nothing exported.
            let wrong = try await b.post("/inbox/\(reportID)/export", [("csrf", csrf), ("totp", "000000")])
            #expect(wrong.status == 403)
            #expect(wrong.body.contains("id=\"error\"") && wrong.body.contains("id=\"export-form\""))
            #expect(try events("operator-refused").contains { $0.reasonCode == "totp-invalid" && $0.actor.hasPrefix("operator:claire;session=") })
            #expect(try events("inbound-exported").isEmpty)

            // The right one: a tar, streamed, with each document as stored.
            let tar = console.dir.file("export.tar")
            let answer = try await b.console.curl(port, "/inbox/\(reportID)/export",
                                                  ["-b", b.jar, "-c", b.jar, "-X", "POST", "-H", "Origin: \(b.origin)", "-o", tar,
                                                   "--data-urlencode", "csrf=\(csrf)", "--data-urlencode", "totp=\(try code("claire"))"])
            #expect(answer.status == 200)
            #expect(answer.headers["content-type"] == "application/x-tar")
            #expect(answer.headers["content-disposition"] == "attachment; filename=\"inbound-\(reportID).tar\"")
            #expect(answer.headers["cache-control"] == "no-store")
            let out = console.dir.file("extracted")
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let untar = try await Shell.runDetached(["tar", "-xf", tar, "-C", out])
            try #require(untar.succeeded, "\(untar.stderr)")
            let folder = out + "/inbound-\(reportID)"
            let manifest = try BundleManifest.decode(try Data(contentsOf: URL(fileURLWithPath: folder + "/manifest.json")))
            #expect(manifest.documents.count == documents.count)
            for d in manifest.documents {
                let got = try await Self.sha256Detached(folder + "/" + d.name)
                #expect(got == d.sha256, "\(d.name)")
                #expect(got == (try await Self.sha256Detached(report.storedPath + "/documents/" + d.name)), "\(d.name)")
                #expect(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + d.name)) == documents[d.name], "\(d.name)")
            }
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: folder)) == Set(documents.keys).union(["manifest.json"]))

            // Recorded as the operation records it: one entry per document, one for the manifest.
            let exported = try events("inbound-exported")
            #expect(exported.count == documents.count + 1)
            #expect(exported.allSatisfy { $0.actor.hasPrefix("operator:claire;session=") && $0.transport == "console" })
            #expect(try events("console-login").contains { $0.reason?.contains("totp-confirmed") == true && $0.actor.hasPrefix("operator:claire;") })
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func aClaimsOperatorWithoutTheGrantGets403Recorded() async throws {
        try await console.serve { port in
            let b = try await signedIn(port, "carl")
            let page = try await b.get("/inbox/\(reportID)")
            #expect(page.status == 200)
            #expect(!page.body.contains("id=\"export-form\""))
            let export = try await b.post("/inbox/\(reportID)/export", [("csrf", ConsoleSessionTests.Browser.csrf(page.body)),
                                                                        ("totp", try code("carl"))])
            #expect(export.status == 403)
            #expect(export.headers["content-type"] == "text/html; charset=utf-8")
            #expect(try events("operator-refused").contains { $0.reasonCode == "role-missing" && $0.actor.hasPrefix("operator:carl;session=") && $0.transport == "console" })
            #expect(try events("inbound-exported").isEmpty)
            // Nor may it purge.
            #expect(try await b.get("/purge").status == 403)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func aSecurityOfficerPurgesWithTheCodeAgain() async throws {
        try await console.serve { port in
            let b = try await signedIn(port, "sofia")
            let home = try await b.get("/")
            #expect(home.body.contains("id=\"purge-link\""))
            let page = try await b.get("/purge")
            #expect(page.status == 200)
            for id in ["purge-form", "purge-retention", "purge-totp", "purge-submit"] { #expect(page.body.contains("id=\"\(id)\""), "\(id)") }
            let csrf = ConsoleSessionTests.Browser.csrf(page.body)
            let wrong = try await b.post("/purge", [("csrf", csrf), ("retention", "5"), ("totp", "000000")])
            #expect(wrong.status == 403)
            #expect(wrong.body.contains("id=\"error\""))
            #expect(try events("operator-refused").contains { $0.reasonCode == "totp-invalid" && $0.actor.hasPrefix("operator:sofia;session=") })
            #expect(try gateway.inboundReport(reportID).state == .accepted)

            let purged = try await b.post("/purge", [("csrf", csrf), ("retention", "5"), ("totp", try code("sofia"))])
            #expect(purged.status == 200)
            #expect(purged.body.contains("id=\"purge-result\""))
            #expect(purged.body.contains("<dd id=\"purged-reports\">1</dd>"))
            #expect(purged.body.contains(reportID))
            #expect(try gateway.inboundReport(reportID).state == .purged)
            #expect(!FileManager.default.fileExists(atPath: report.storedPath))
            #expect(try events("purge").contains { $0.actor.hasPrefix("operator:sofia;session=") && $0.transport == "console" })
        }
    }
}
