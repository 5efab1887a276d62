import ArgumentParser
import ClaimGateApp
import Operations
import ClaimGateCore
import Foundation
import OperatorClient
import Synchronization

/// `claimgate audit report`: the monthly access review (docs/audit-reports.md).
struct AuditReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "The monthly access review: per partner, bundles shared by purpose, downloads, receipts, refusals by reason, and flags; per operator, actions and refusals; every local action; a grants review.",
        discussion: """
        Flags: repeated-refusals (3 or more refusals of a partner's own requests in the month), \
        foreign-, expired-, unknown- and unavailable-bundle-attempt (requests for a bundle the partner could not have), \
        and download-not-receipted (downloaded completely, no successful receipt by the end of the month). \
        Staff: each operator's actions by kind, refusals by reason and certificates used; every entry \
        recorded at the host's shell (local:uid=N(name), and admin: entries from before operators); \
        the grants review: each operator's roles and grants, who gave them and when, when last used, \
        flagged when unused for 90 days. \
        A report on the current month is provisional. Formats: md (default), json, csv; see docs/audit-reports.md.
        """)
    @OptionGroup var home: GatewayOptions
    @Option(help: ArgumentHelp("The month to review, in UTC.", valueName: "YYYY-MM")) var month: String
    @Option(help: ArgumentHelp("Only this partner.", valueName: "ID")) var partner: String?
    @Option(help: "Output format: md, json or csv.") var format = AccessReviewFormat.md.rawValue

    func validate() throws {
        guard AccessReviewFormat(rawValue: format) != nil else {
            throw ValidationError("--format \(format.prefix(20)) is not supported: use md, json or csv.")
        }
        guard (try? ReportMonth(parsing: month)) != nil else {
            throw ValidationError("--month '\(month.prefix(40))' is not a month: use YYYY-MM, such as 2026-11.")
        }
    }

    func run() throws {
        if let api = try home.remote() {
            // The gateway renders the review in the format asked for, as it does here.
            let reply = try api.call(.GET, ["v1", "audit", "report"], query: [("month", month), ("format", format)] + (partner.map { [("partner", $0)] } ?? []))
            FileHandle.standardOutput.write(reply.body)
            return
        }
        let gateway = try home.gateway()
        let review = try gateway.auditReport(month: ReportMonth(parsing: month), partner: partner, by: localPrincipal)
        let output = BufferedStandardOutput()
        output.write(try review.rendered(as: AccessReviewFormat(rawValue: format)!))
        output.flush()
    }
}

/// `claimgate audit impact`: which claims and documents went to a partner (docs/audit-reports.md).
struct AuditImpactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "impact",
        abstract: "Breach impact: the claims and documents sealed for, delivered to or downloaded by a partner, or every partner that got a claim's documents.",
        discussion: """
        Give --partner, --claim, or both (a claim's documents at one partner). Each bundle is listed with its \
        claim, purpose and documents (names and SHA-256 from the sealed manifest) and every time it was sealed, \
        delivered or downloaded, with the transport. Formats: json (default), csv; see docs/audit-reports.md.
        """)
    @OptionGroup var home: GatewayOptions
    @Option(help: ArgumentHelp("The partner whose exposure to assess.", valueName: "ID")) var partner: String?
    @Option(help: ArgumentHelp("The claim whose documents to trace.", valueName: "ID")) var claim: String?
    @Option(help: ArgumentHelp("Only what happened at or after this time (YYYY-MM-DD or ISO-8601, UTC).", valueName: "DATE"))
    var since: String?
    @Option(help: "Output format: json or csv.") var format = ImpactFormat.json.rawValue

    func validate() throws {
        guard partner != nil || claim != nil else {
            throw ValidationError("Give --partner ID or --claim ID: whose exposure to assess.")
        }
        guard ImpactFormat(rawValue: format) != nil else {
            throw ValidationError("--format \(format.prefix(20)) is not supported: use json or csv.")
        }
        if let claim, claim.isEmpty || claim.utf8.count > 200 {
            throw ValidationError("--claim must be a claim id of 1 to 200 bytes.")
        }
        if let since { _ = try AuditTimeArgument.parse(since, option: "--since") }
    }

    func run() throws {
        if let api = try home.remote() {
            let query = [("partner", partner), ("claim", claim), ("since", since), ("format", format)].compactMap { q in q.1.map { (q.0, $0) } }
            let out = BufferedBytes()
            _ = try api.download(.GET, ["v1", "audit", "impact"], query: query) { out.write($0) }
            out.flush()
            return
        }
        let gateway = try home.gateway()
        let query = ImpactQuery(partner: try partner.map { try gateway.partner($0).id }, claim: claim,
                                since: try since.map { try AuditTimeArgument.parse($0, option: "--since") })
        let output = BufferedStandardOutput()
        try gateway.auditImpact(query, format: ImpactFormat(rawValue: format)!, by: localPrincipal) { output.write($0) }
        output.flush()
    }
}

/// Standard output in 64 KiB writes, for reports that stream.
final class BufferedStandardOutput {
    private var buffer = Data()

    func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        FileHandle.standardOutput.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Standard output in 64 KiB writes, for bytes that stream from the operator API.
final class BufferedBytes: Sendable {
    private let buffer = Mutex(Data())

    func write(_ data: Data) {
        let full = buffer.withLock { b -> Data? in
            b.append(data)
            guard b.count >= 1 << 16 else { return nil }
            defer { b.removeAll(keepingCapacity: true) }
            return b
        }
        if let full { FileHandle.standardOutput.write(full) }
    }

    func flush() {
        let rest = buffer.withLock { b in defer { b.removeAll() }; return b }
        if !rest.isEmpty { FileHandle.standardOutput.write(rest) }
    }
}
