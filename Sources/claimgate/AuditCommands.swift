import ArgumentParser
import Audit
import ClaimGateApp
import Operations
import ClaimGateCore
import Envelope
import Foundation
import OperatorClient

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify, export and report on the tamper-evident audit trail.",
        subcommands: [Verify.self, Export.self, AuditReportCommand.self, AuditImpactCommand.self, AuditBenchmarkCommand.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every entry's hash and link and every signed checkpoint; exits 1 and names the first bad entry.",
            discussion: """
            Without --from-export the gateway database is read. With --from-export no database is needed: \
            give the gateway's audit public key with --key (`claimgate identity --audit-pem`), since the \
            key inside an export is never trusted. Entries after the last checkpoint are reported as unsealed.
            """)
        @OptionGroup var home: GatewayOptions
        @Option(name: .customLong("from-export"), help: ArgumentHelp("A JSON-lines export to verify instead of the database.", valueName: "FILE"))
        var export: String?
        @Option(name: .long, help: ArgumentHelp("Audit public key (PEM) to check checkpoint signatures with.", valueName: "AUDIT-PUBLIC-PEM"))
        var key: [String] = []
        @Flag(name: .long, help: "With --from-export: accept an export made with --since; only what it holds is checked.")
        var partial = false
        @Flag(name: .long, help: "Print the result as JSON.")
        var json = false

        func run() throws {
            let keys: [MessageVerifyingKey] = try key.map { path in
                do { return try MessageVerifyingKey(pemFile: path) } catch let e as EnvelopeError {
                    throw ClaimGateError(.invalidArgument, "--key \(path): \(e.message)")
                }
            }
            let view: AuditVerificationView
            if let export {
                do { view = AuditVerificationView(try AuditVerifier.verify(exportAt: export, keys: keys, allowPartial: partial)) } catch let e as AuditError {
                    throw ClaimGateError(.invalidArgument, "--from-export \(export): \(e.message)")
                }
            } else if let api = try home.remote() {
                guard keys.isEmpty else {
                    throw ValidationError("--key checks checkpoints with a key you hold, which a remote gateway cannot use: export the trail (`claimgate audit export -o FILE`) and run `claimgate audit verify --from-export FILE --key KEY`.")
                }
                view = try api.get(["v1", "audit", "verify"])
            } else {
                // Verifying only reads: the database is opened read-only and left as it was.
                view = AuditVerificationView(try home.readOnlyGateway().verifyAuditTrail(keys: keys.isEmpty ? nil : keys, by: localPrincipal))
            }
            if json {
                try printJSON(view)
            } else {
                print(Self.text(view))
                for w in view.warnings { print("warning: \(w)") }
            }
            if !view.intact { throw ExitCode(1) }
        }

        /// The verdict in one line, as `AuditVerification.description` says it.
        static func text(_ v: AuditVerificationView) -> String {
            if let problem = v.problem { return "TAMPERED: \(problem)" }
            let sealed = v.last_sealed_sequence > 0 ? ", sealed up to entry \(v.last_sealed_sequence) by \(v.checkpoints) checkpoint\(v.checkpoints == 1 ? "" : "s")" : ", no checkpoint"
            return "OK: \(v.entries) entr\(v.entries == 1 ? "y" : "ies") intact\(sealed)."
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write entries and checkpoints as JSON lines (docs/audit-format.md), once the trail verifies.",
            discussion: """
            The whole trail is verified first: when it does not verify, the finding is printed as `audit verify` prints \
            it, nothing is recorded or sealed, and the exit status is 1. On a writable home the export is recorded \
            (audit-exported) and sealed with a checkpoint first. On a read-only home nothing is recorded: the export \
            ends at the last checkpoint, and later entries are left out (a warning says how many). An export always \
            ends with the checkpoint of its last entry.
            """)
        @OptionGroup var home: GatewayOptions
        @Option(name: .long, help: ArgumentHelp("Only entries at or after this time (YYYY-MM-DD or ISO-8601, UTC).", valueName: "TIME"))
        var since: String?
        @Option(name: .long, help: ArgumentHelp("Only entries before this time.", valueName: "TIME"))
        var until: String?
        @Option(name: .long, help: "Output format: jsonl.")
        var format = "jsonl"
        @Option(name: [.short, .long], help: ArgumentHelp("Write to FILE (atomically) instead of standard output.", valueName: "FILE"))
        var output: String?

        func run() throws {
            guard format == "jsonl" else { throw ValidationError("--format \(format) is not supported: use jsonl.") }
            let since = try self.since.map { try AuditTimeArgument.parse($0, option: "--since") }
            let until = try self.until.map { try AuditTimeArgument.parse($0, option: "--until") }
            if let api = try home.remote() { return try remote(api, since: since, until: until) }
            // A read-only home (chmod a-w) is exported without writing to it.
            let gateway = try home.resolved.isWritable ? home.gateway() : home.readOnlyGateway()
            do {
                if let output {
                    let summary = try gateway.exportAuditTrail(to: output, since: since, until: until, by: localPrincipal)
                    Self.report(summary, gateway: gateway)
                    FileHandle.standardError.write(Data("exported \(summary.entries) entries to \(output)\n".utf8))
                } else {
                    let temp = NSTemporaryDirectory() + "claimgate-audit-\(getpid()).jsonl"
                    defer { unlink(temp) }
                    let summary = try gateway.exportAuditTrail(to: temp, since: since, until: until, by: localPrincipal)
                    Self.report(summary, gateway: gateway)
                    guard let handle = FileHandle(forReadingAtPath: temp) else { throw ClaimGateError(.io, "Cannot read the export back.") }
                    while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { FileHandle.standardOutput.write(chunk) }
                }
            } catch let e as AuditTrailTampered {
                // The same sentence `audit verify` prints; nothing was recorded, sealed or written.
                FileHandle.standardError.write(Data("\(e.message)\nerror: the audit trail does not verify, so it was not exported: run `claimgate audit verify` and investigate before exporting.\n".utf8))
                throw ExitCode(1)
            }
        }

        /// Through the operator API: the gateway verifies, records and seals, then streams the export.
        func remote(_ api: OperatorAPIClient, since: Date?, until: Date?) throws {
            do { try streamRemote(api, since: since, until: until) } catch let e as ClaimGateError where e.code == .io && e.message.hasPrefix("TAMPERED: ") {
                // The gateway's verdict (the sentence `audit verify` prints): as locally, exit 1.
                FileHandle.standardError.write(Data("\(e.message)\nerror: the audit trail does not verify, so it was not exported: run `claimgate audit verify` and investigate before exporting.\n".utf8))
                throw ExitCode(1)
            }
        }

        private func streamRemote(_ api: OperatorAPIClient, since: Date?, until: Date?) throws {
            let query = [("since", since.map(Timestamp.format)), ("until", until.map(Timestamp.format))].compactMap { q in q.1.map { (q.0, $0) } }
            guard let output else {
                let out = BufferedBytes()
                _ = try api.download(.GET, ["v1", "audit", "export"], query: query) { out.write($0) }
                out.flush()
                return
            }
            let file = try DownloadedFile(FileSystem.absolute(output), replace: true)
            let reply: OperatorAPIClient.Reply
            do {
                reply = try api.download(.GET, ["v1", "audit", "export"], query: query) { try file.write($0) }
                try file.commit()
            } catch {
                file.discard()
                throw error
            }
            FileHandle.standardError.write(Data("exported \(reply.headers.first(name: "Audit-Entries") ?? "?") entries to \(output)\n".utf8))
        }

        static func report(_ summary: AuditExportSummary, gateway: Gateway) {
            guard gateway.isReadOnly else { return }
            var text = "warning: this home is read-only, so the export was not recorded in the audit trail"
            if summary.leftOut > 0 {
                text += "; it ends at entry \(summary.lastSequence), the last one sealed by a checkpoint, and leaves out \(summary.leftOut) later entr\(summary.leftOut == 1 ? "y" : "ies") that only the gateway's writable home can seal"
            }
            FileHandle.standardError.write(Data((text + ".\n").utf8))
        }
    }
}

/// `--since` / `--until` values: a UTC day (`2026-11-01`) or an ISO-8601 instant.
enum AuditTimeArgument {
    static func parse(_ text: String, option: String) throws -> Date {
        if let day = try? CalendarDay(parsing: text) { return day.startOfDay }
        if let d = try? Date(text, strategy: .iso8601) { return d }
        if let d = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return d }
        throw ValidationError("\(option) '\(text.prefix(40))' is not a date: use YYYY-MM-DD or 2026-11-01T08:00:00Z.")
    }
}
