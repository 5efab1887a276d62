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
    @OptionGroup var home: HomeOption
    @Option(help: ArgumentHelp("Keep inbound reports' documents this many days.", valueName: "DAYS"))
    var inboundRetentionDays = 90

    func validate() throws {
        guard inboundRetentionDays > 0 else { throw ValidationError("--inbound-retention-days must be more than 0.") }
    }

    func run() throws {
        let r = try home.gateway().purge(inboundRetentionDays: inboundRetentionDays, by: localPrincipal)
        print("Purged \(r.bundles.count) bundle(s) (\(r.bytes) bytes) and \(r.inboundReports.count) inbound report(s).")
    }
}
