import ArgumentParser
import ClaimGateApp
import Operations
import ClaimGateCore
import Foundation
import OperatorClient

struct PartnerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partner", abstract: "Onboard and inspect partners.",
        subcommands: [Add.self, Update.self, List.self, Show.self, Suspend.self, Resume.self, Remove.self, PartnerRotateCommand.self])

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate an edited agreement file and store it as the partner's next agreement version.",
            discussion: "Every version is kept (`partner show --json` lists the current one; the audit trail records what changed). The partner keeps its status. New trust anchors, keys and CRLs apply to the running `serve` within a second.")
        @OptionGroup var home: GatewayOptions
        @Argument(help: ArgumentHelp("The agreement file.", valueName: "FILE")) var file: String
        @Flag(help: "Print the partner as JSON.") var json = false

        func run() throws {
            let v: PartnerView
            if let api = try home.remote() {
                let upload = try AgreementUpload(file)
                switch try api.change(PartnerView.self, ["v1", "partners", upload.partnerID], body: upload.body, method: .PUT) {
                case .pending(let c): return try printPending(c, json: json)
                case .applied(let view): v = view
                }
            } else {
                let g = try home.gateway()
                let outcome = try g.updatePartner(agreementFile: file, by: localPrincipal)
                guard case .applied(let p) = outcome else { return try printPending(outcome.pendingChange!, json: json, now: g.clock.now) }
                v = g.view(p)
            }
            if json { try printJSON(v); return }
            print("Updated \(v.id): agreement \(v.agreementReference) version \(v.agreementVersion), valid until \(v.validUntil).")
        }
    }

    struct Suspend: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop all exchange with a partner until `partner resume`: takes effect on open sessions within a second.")
        @OptionGroup var home: GatewayOptions
        @Argument(help: "Partner id.") var id: String
        @Option(help: "Why (kept in the audit trail; no personal data).") var reason: String?

        func run() throws {
            if let api = try home.remote() {
                let _: PartnerView = try api.post(["v1", "partners", id, "suspend"], body: ["reason": reason])
            } else {
                try home.gateway().suspendPartner(id, reason: reason, by: localPrincipal)
            }
            print("Suspended \(id): it can list, download, upload and receive nothing; pushes wait until `claimgate partner resume \(id)`.")
        }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lift a partner's suspension.")
        @OptionGroup var home: GatewayOptions
        @Argument(help: "Partner id.") var id: String

        func run() throws {
            if let api = try home.remote() {
                let _: PartnerView = try api.post(["v1", "partners", id, "resume"])
            } else {
                try home.gateway().resumePartner(id, by: localPrincipal)
            }
            print("Resumed \(id).")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "End the relationship with a partner for good; its history is kept.",
            discussion: "Refused while bundles are still waiting to be delivered or pulled, unless --force (their pushes are then cancelled). Run `claimgate purge` afterwards to destroy what is left.")
        @OptionGroup var home: GatewayOptions
        @Argument(help: "Partner id.") var id: String
        @Flag(help: "Remove even with bundles waiting.") var force = false
        @Option(help: "Why (kept in the audit trail; no personal data).") var reason: String?

        @Flag(help: "Print JSON (for a change that waits for a second operator: {\"pending\": ID}).") var json = false

        func run() throws {
            if let api = try home.remote() {
                struct Body: Encodable { let force: Bool; let reason: String? }
                if case .pending(let c) = try api.change(PartnerView.self, ["v1", "partners", id, "remove"], body: Body(force: force, reason: reason)) {
                    return try printPending(c, json: json)
                }
            } else {
                let g = try home.gateway()
                let outcome = try g.removePartner(id, force: force, reason: reason, by: localPrincipal)
                if let change = outcome.pendingChange { return try printPending(change, json: json, now: g.clock.now) }
            }
            if json { try printJSON(["removed": id]); return }
            print("Removed \(id).")
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate an agreement file and onboard the partner it describes.",
            discussion: "Nothing is stored when any check fails; the message names the field. Fields: docs/agreements.md.")
        @OptionGroup var home: GatewayOptions
        @Argument(help: ArgumentHelp("The agreement file (partners/ID.yaml).", valueName: "FILE")) var file: String
        @Flag(help: "Print the onboarded partner as JSON.") var json = false

        func run() throws {
            let v: PartnerView
            if let api = try home.remote() {
                switch try api.change(PartnerView.self, ["v1", "partners"], body: try AgreementUpload(file).body) {
                case .pending(let c): return try printPending(c, json: json)
                case .applied(let view): v = view
                }
            } else {
                let g = try home.gateway()
                let outcome = try g.addPartner(agreementFile: file, by: localPrincipal)
                guard case .applied(let p) = outcome else { return try printPending(outcome.pendingChange!, json: json, now: g.clock.now) }
                v = g.view(p)
            }
            if json { try printJSON(v); return }
            print("Onboarded \(v.id) (\(v.name)), agreement \(v.agreementReference) valid until \(v.validUntil).")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List onboarded partners.")
        @OptionGroup var home: GatewayOptions
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let partners: [PartnerView]
            if let api = try home.remote() {
                partners = try api.get(["v1", "partners"])
            } else {
                let g = try home.gateway()
                partners = try g.partners(by: localPrincipal).map(g.view)
            }
            if json { try printJSON(partners); return }
            if partners.isEmpty { print("No partners yet: `claimgate partner add partners/FILE.yaml`."); return }
            print("ID".padding(24) + "ROLE".padding(12) + "STATUS".padding(10) + "AGREEMENT".padding(16) + "VALID UNTIL")
            for p in partners {
                print(p.id.padding(24) + p.role.padding(12) + p.status.padding(10) + p.agreementReference.padding(16) + p.validUntil)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one partner's agreement.")
        @OptionGroup var home: GatewayOptions
        @Argument(help: "Partner id.") var id: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let v: PartnerView
            if let api = try home.remote() {
                v = try api.get(["v1", "partners", id])
            } else {
                let g = try home.gateway()
                v = g.view(try g.partner(id, by: localPrincipal))
            }
            if json { try printJSON(v); return }
            print("""
            \(v.id): \(v.name) (\(v.role), \(v.status))
              agreement        \(v.agreementReference) (version \(v.agreementVersion)), valid until \(v.validUntil)
              purposes         \(v.purposes.joined(separator: ", "))
              document types   \(v.documentTypes.joined(separator: ", "))
              retention        at most \(v.maxRetentionDays) days
              encryption cert  \(v.encryptionCertificate.map { "\($0.subject), \($0.key), expires \($0.notAfter), SHA-256 \($0.sha256)" } ?? "unreadable")
              ssh keys         \(v.sshKeys.isEmpty ? "none" : v.sshKeys.joined(separator: ", "))
              pull             \(v.pull.isEmpty ? "none" : v.pull.joined(separator: ", "))
              push             \(v.pushSFTP.map { "sftp://\($0.user)@\($0.host):\($0.port)\($0.path) (host key \($0.hostKey))" } ?? v.pushHTTPS?.url ?? "none")
              masking          \(v.masking.isEmpty ? "none" : v.masking.joined(separator: ", "))
            """)
        }
    }
}

extension String {
    func padding(_ n: Int) -> String { count >= n ? self + " " : self + String(repeating: " ", count: n - count) }
}
