import ArgumentParser
import ClaimGateApp
import Operations
import ClaimGateCore
import Foundation

struct PurgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Destroy the files of expired and recalled bundles, and inbound reports past their retention.",
        discussion: """
        Each destruction is recorded in the audit trail with the SHA-256 of what was destroyed, and the \
        bundle shows as purged. `claimgate serve` runs the same pass every --purge-interval. What deletion \
        guarantees on a journaling file system: docs/operations.md.
        """)
    @OptionGroup var home: GatewayOptions
    @Option(help: ArgumentHelp("Keep inbound reports' documents this many days.", valueName: "DAYS"))
    var inboundRetentionDays = 90

    func validate() throws {
        guard inboundRetentionDays > 0 else { throw ValidationError("--inbound-retention-days must be more than 0.") }
    }

    func run() throws {
        let (bundles, bytes, reports): (Int, Int64, Int)
        if let api = try home.remote() {
            struct Purged: Decodable { let bundles: [String]; let inbound_reports: [String]; let bytes: Int64 }
            let r: Purged = try api.post(["v1", "purge"], body: ["inbound_retention_days": inboundRetentionDays])
            (bundles, bytes, reports) = (r.bundles.count, r.bytes, r.inbound_reports.count)
        } else {
            let r = try home.gateway().purge(inboundRetentionDays: inboundRetentionDays, by: localPrincipal)
            (bundles, bytes, reports) = (r.bundles.count, r.bytes, r.inboundReports.count)
        }
        print("Purged \(bundles) bundle(s) (\(bytes) bytes) and \(reports) inbound report(s).")
    }
}
