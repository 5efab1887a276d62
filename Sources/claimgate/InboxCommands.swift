import ArgumentParser
import ClaimGateApp
import Operations
import ClaimGateCore
import Foundation
import OperatorClient

struct SealReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seal-report",
        abstract: "Partner side: seal a report for the gateway (to its encryption certificate, signed with your key).",
        discussion: "Upload the result to your /inbox over SFTP. The gateway verifies it against your agreement's trust anchor.")
    @Option(help: "Your partner id at the gateway.") var partnerId: String
    @Option(help: "The gateway's encryption certificate (`claimgate identity --encryption-pem`).") var gatewayCert: String
    @Option(help: "Your signing certificate (PEM; its issuing certificates may follow it).") var signerCert: String
    @Option(help: "Its private key (PEM).") var signerKey: String
    @Option(help: "Claim id.") var claim: String
    @Option(help: "Purpose; must be one your agreement allows.") var purpose: String
    @Option(help: ArgumentHelp("Expiry: YYYY-MM-DD or an ISO-8601 datetime.", valueName: "DATE")) var expires: String?
    @Option(help: ArgumentHelp("Time to live instead of --expires: 90m, 12h, 7d, 2w.", valueName: "DURATION")) var ttl: String?
    @Option(help: "Agreement reference to bind into the manifest.") var agreement: String?
    @Option(help: ArgumentHelp("The report file to write (must not exist).", valueName: "FILE")) var out: String
    @Argument(help: ArgumentHelp("Documents to send.", valueName: "DOC")) var documents: [String] = []

    func validate() throws {
        guard (expires == nil) != (ttl == nil) else { throw ValidationError("Give exactly one of --expires DATE or --ttl DURATION.") }
        guard !documents.isEmpty else { throw ValidationError("Name at least one document to send.") }
    }

    func run() throws {
        let expiry = try expires.map(ExpirySpec.expires) ?? ExpirySpec.ttl(ttl!)
        let m = try PartnerSealer.seal(.init(partnerID: partnerId, gatewayCertificate: gatewayCert, signerCertificate: signerCert,
                                             signerKey: signerKey, claimID: claim, purpose: purpose, expiry: expiry,
                                             agreementReference: agreement, documents: documents, output: out))
        print(m.bundleID.description)
    }
}

struct InboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inbox", abstract: "Reports partners uploaded: accepted ones and quarantined ones.",
        subcommands: [List.self, Show.self, Export.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List processed uploads, newest first.")
        @OptionGroup var home: GatewayOptions
        @Option(help: "Only this partner's reports.") var partner: String?
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let reports: [InboundView]
            if let api = try home.remote() {
                reports = try api.get(["v1", "inbox"], query: [("partner", partner)])
            } else {
                reports = try home.gateway().inboundReports(partner: partner, by: localPrincipal).map { InboundView($0) }
            }
            if json { try printJSON(reports); return }
            if reports.isEmpty { print("No inbound reports."); return }
            print("ID".padding(38) + "PARTNER".padding(20) + "STATE".padding(12) + "CLAIM".padding(18) + "RECEIVED".padding(22) + "REASON")
            for r in reports {
                print(r.id.padding(38) + r.partner.padding(20) + r.state.padding(12)
                      + (r.claimID ?? "-").padding(18) + r.received.padding(22) + (r.reason ?? ""))
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one processed upload.")
        @OptionGroup var home: GatewayOptions
        @Argument(help: "Inbound report id.") var id: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let v: InboundView
            if let api = try home.remote() {
                v = try api.get(["v1", "inbox", id])
            } else {
                v = InboundView(try home.gateway().inboundReport(id, by: localPrincipal))
            }
            if json { try printJSON(v); return }
            print("""
            report    \(v.id)
            partner   \(v.partner)
            state     \(v.state)\(v.reason.map { " (\($0))" } ?? "")
            file      \(v.fileName), \(v.bytes) bytes, received \(v.received) over \(v.transport)
            claim     \(v.claimID ?? "-")
            purpose   \(v.purpose ?? "-")
            """)
            for d in v.documents ?? [] { print("  \(d.name)  \(d.mediaType)  \(d.size) bytes  sha256 \(d.sha256)") }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Copy an accepted report's documents and manifest to a folder.")
        @OptionGroup var home: GatewayOptions
        @Argument(help: "Inbound report id.") var id: String
        @Option(help: ArgumentHelp("Output folder.", valueName: "DIR")) var out: String

        func run() throws {
            guard let api = try home.remote() else {
                let names = try home.gateway().exportInbound(id, to: out, by: localPrincipal)
                names.forEach { print("\(out)/\($0)") }
                return
            }
            // Remote: each document is downloaded (and recorded) on its own, then the manifest.
            let report: InboundView = try api.get(["v1", "inbox", id])
            let names = (report.documents ?? []).map(\.name).sorted()
            let dir = FileSystem.absolute(out)
            try FileSystem.makeDirectory(dir, mode: 0o700)
            for n in names + ["manifest.json"] where FileManager.default.fileExists(atPath: dir + "/" + n) {
                throw ClaimGateError(.invalidArgument, "\(dir)/\(n) already exists: export into an empty folder.")
            }
            for n in names {
                let file = try DownloadedFile(dir + "/" + n, mode: 0o600, replace: false)
                do {
                    _ = try api.download(.GET, ["v1", "inbox", id, "documents", n]) { try file.write($0) }
                    try file.commit()
                } catch {
                    file.discard()
                    throw error
                }
                print("\(out)/\(n)")
            }
            let manifest = try DownloadedFile(dir + "/manifest.json", mode: 0o600, replace: false)
            do {
                _ = try api.download(.GET, ["v1", "inbox", id, "manifest"]) { try manifest.write($0) }
                try manifest.commit()
            } catch {
                manifest.discard()
                throw error
            }
        }
    }
}
