import ArgumentParser
import ClaimGateApp
import Operations
import ClaimGateCore
import Foundation

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "List what needs attention: certificates and agreements ending soon, undelivered or unacknowledged bundles, configuration problems.",
        discussion: """
        Checks the gateway's CA, signing, TLS and encryption certificates and every partner's encryption certificate \
        and trust anchors, agreements, push deliveries, unacknowledged bundles and the identity folder. \
        Each finding has a severity, a stable code, a subject (partner id or gateway file) and the next step; codes: docs/operations.md.
        Exit status: 0 nothing at warning or above, 1 warnings only, 2 errors (other failures: 64 to 78 as for every command).
        """)

    @OptionGroup var home: GatewayOptions
    @Option(help: ArgumentHelp("Report certificates and agreements ending within this many days.", valueName: "N"))
    var days = 30
    @Flag(help: "Print the report as JSON (findings and every certificate checked).") var json = false

    func validate() throws {
        guard (0...3650).contains(days) else { throw ValidationError("--days must be 0 to 3650.") }
    }

    func run() throws {
        // The doctor only reads: the database is opened read-only and left as it was.
        let report: DoctorReport
        if let api = try home.remote() {
            report = try api.get(["v1", "doctor"], query: [("days", String(days))])
        } else {
            report = try home.readOnlyGateway().doctor(withinDays: days, by: localPrincipal)
        }
        if json {
            try printJSON(report)
        } else {
            print(Self.text(report))
        }
        if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
    }

    static func text(_ report: DoctorReport) -> String {
        var lines: [String] = []
        let window = "within \(report.withinDays) day\(report.withinDays == 1 ? "" : "s")"
        if report.findings.isEmpty {
            return (["All clear: no certificate or agreement ends \(window), nothing is waiting, no configuration problem found."]
                    + footer(report)).joined(separator: "\n")
        }
        let rows = report.findings.map { f in
            [f.severity.rawValue, f.code.name,
             f.certificate.map { f.subject.contains("/") ? f.subject : "\(f.subject) (\($0))" } ?? f.subject,
             f.daysLeft.map(String.init) ?? "-", f.message]
        }
        let header = ["SEVERITY", "CODE", "SUBJECT", "DAYS", "MESSAGE"]
        let widths = (0..<4).map { i in ([header] + rows).map { $0[i].count }.max()! + 1 }
        for row in [header] + rows {
            lines.append((0..<4).map { row[$0].padding(widths[$0]) }.joined() + row[4])
        }
        let counts = DoctorFinding.Severity.allCases.reversed().compactMap { s -> String? in
            let n = report.findings.filter { $0.severity == s }.count
            return n == 0 ? nil : "\(n) \(s.rawValue)\(n == 1 || s == .info ? "" : "s")"
        }
        lines.append("")
        lines += footer(report)
        lines.append("\(counts.joined(separator: ", ")) (certificates and agreements ending \(window)).")
        return lines.joined(separator: "\n")
    }

    /// The database and, once `serve` has run, which node runs each singleton job.
    static func footer(_ report: DoctorReport) -> [String] {
        var lines: [String] = []
        if let d = report.database {
            let lag = d.replicationLagSeconds.map { String(format: "; slowest replica %.1f s behind", $0) } ?? ""
            lines.append("Database: \(d.backend) \(d.location) (schema \(d.schema)\(lag)).")
        }
        for l in report.leases {
            lines.append("Job \(l.job): \(l.lapsed ? "no node (lease of \(l.holder) ran out at \(l.expires))" : "\(l.holder) until \(l.expires)") (fence \(l.fence)).")
        }
        return lines
    }
}
