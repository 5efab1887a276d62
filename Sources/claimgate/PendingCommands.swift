import ArgumentParser
import ClaimGateCore
import Foundation
import Operations

/// Prints what a command prints for a change kept for a second operator's approval (four eyes):
/// `pending change ID`, or `{"pending": "ID"}` with `--json`. The command exits 0.
func printPending(_ change: PendingChange, json: Bool) throws {
    if json { try printJSON(["pending": change.id.rawValue]); return }
    print("pending change \(change.id)")
    print("\(change.action) \(change.target) waits for a second operator: `claimgate approve \(change.id)` (by \(Timestamp.format(change.expires))).")
}

/// `claimgate pending`: changes that wait for a second operator (four eyes, docs/operators.md).
struct PendingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pending", abstract: "List changes waiting for a second operator's approval (four eyes).",
        discussion: "A change to a partner's agreement, or a grant of security-officer, asked for by an operator while another operator holds the same role waits here until a different operator runs `claimgate approve ID`; it expires after 7 days. See docs/operators.md.",
        subcommands: [List.self, Show.self, Withdraw.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List pending changes (expired ones shown as expired).")
        @OptionGroup var home: HomeOption
        @Flag(help: "Also list approved and withdrawn changes.") var all = false
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let g = try home.gateway()
            let now = g.clock.now
            let changes = try g.pendingChanges(by: localPrincipal).filter { all || [.pending, .expired].contains($0.state(at: now)) }
            if json { try printJSON(changes.map { PendingChangeView($0, now: now) }); return }
            if changes.isEmpty { print("No pending changes."); return }
            print("ID".padding(12) + "STATE".padding(10) + "ACTION".padding(16) + "TARGET".padding(24) + "EXPIRES".padding(22) + "PROPOSED BY")
            for c in changes {
                print(c.id.rawValue.padding(12) + c.state(at: now).rawValue.padding(10) + c.action.rawValue.padding(16)
                      + c.target.padding(24) + Timestamp.format(c.expires).padding(22) + c.proposedBy)
                print("".padding(12) + c.summary)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one pending change and what it would do if approved now.")
        @OptionGroup var home: HomeOption
        @Argument(help: "The change's id.") var id: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let g = try home.gateway()
            let preview = try g.previewChange(id, by: localPrincipal)
            if json { try printJSON(PendingChangeView(preview, now: g.clock.now)); return }
            printPreview(preview, now: g.clock.now)
        }
    }

    struct Withdraw: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Withdraw a pending change (its proposer, or at the gateway host's shell).")
        @OptionGroup var home: HomeOption
        @Argument(help: "The change's id.") var id: String

        func run() throws {
            let c = try home.gateway().withdrawChange(id, by: localPrincipal)
            print("Withdrew change \(c.id) (\(c.action) \(c.target)): it can no longer be approved.")
        }
    }
}

/// A pending change as `pending show` and `approve` print it.
func printPreview(_ p: ChangePreview, now: Date) {
    let c = p.change
    print("""
    change \(c.id): \(c.action) \(c.target) (\(c.state(at: now).rawValue))
      proposed by  \(c.proposedBy)
      proposed     \(Timestamp.format(c.created)), expires \(Timestamp.format(c.expires))
      summary      \(c.summary)
    """)
    if let by = c.settledBy { print("  settled by   \(by) on \(c.settledAt.map(Timestamp.format) ?? "?")") }
    if !p.details.isEmpty {
        print("  if approved now:")
        for line in p.details { print("    \(line)") }
    }
    if let blocked = p.blocked { print("  cannot be approved: \(blocked)") }
}

/// `claimgate approve ID`: a second operator applies a pending change (four eyes).
struct ApproveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve", abstract: "Approve a pending change and apply it as proposed (four eyes).",
        discussion: """
        Shows the change (for an agreement: the fields and certificate fingerprints that change) and \
        asks for confirmation when stdin is a terminal; --yes, or stdin not a terminal, approves \
        without asking. The change's checks run again first. Its proposer cannot approve it; at the \
        gateway host's shell (break-glass) anyone can, recorded by the real account. \
        An approved `operator add` issues the certificate now: give --out DIR.
        """)
    @OptionGroup var home: HomeOption
    @Argument(help: "The change's id (see `claimgate pending`).") var id: String
    @Flag(name: .shortAndLong, help: "Approve without asking.") var yes = false
    @Option(help: ArgumentHelp("For an `operator add`: the folder to write NAME.pem and NAME.key to (NAME.pem alone for an operator that sent its public key).", valueName: "DIR"))
    var out: String?
    @Flag(help: "Print the approved change as JSON.") var json = false

    func run() throws {
        let g = try home.gateway()
        let preview = try g.previewChange(id, by: localPrincipal)
        if preview.blocked == nil {
            if preview.change.action == .operatorAdd, g.changeIssuesPrivateKey(preview.change) {
                guard let out else {
                    throw ValidationError("Change \(preview.change.id) adds operator \(preview.change.target): give --out DIR for its certificate and key.")
                }
                // The key exists only once, when the certificate is issued: the files must be writable then.
                for ext in ["pem", "key"] where FileManager.default.fileExists(atPath: out + "/" + preview.change.target + "." + ext) {
                    throw ValidationError("\(out)/\(preview.change.target).\(ext) already exists: choose another --out folder, or move it away.")
                }
            }
            if !json { printPreview(preview, now: g.clock.now) }
            if !yes, isatty(STDIN_FILENO) == 1 {
                FileHandle.standardError.write(Data("Approve change \(preview.change.id)? [y/N] ".utf8))
                let answer = (readLine() ?? "").trimmingCharacters(in: .whitespaces).lowercased()
                guard answer == "y" || answer == "yes" else {
                    FileHandle.standardError.write(Data("Not approved: nothing changed.\n".utf8))
                    throw ExitCode(1)
                }
            }
        }
        // A change that cannot be approved is refused (and recorded) by the approval itself.
        let (change, applied) = try g.approveChange(id, by: localPrincipal)
        var written: (certificate: String, key: String?)?
        if case .operatorAdded(let issued) = applied, let out {
            // An operator that sent its public key holds its private key: only the chain is written.
            if issued.privateKeyPEM == nil {
                written = (try issued.writeCertificateChain(to: out), nil)
            } else {
                let files = try issued.write(to: out)
                written = (files.certificate, files.key)
            }
        }
        if json { try printJSON(PendingChangeView(change, now: g.clock.now)); return }
        print("Approved change \(change.id) (\(change.action) \(change.target), proposed by \(change.proposedBy)).")
        switch applied {
        case .partner(let p):
            print("\(p.id): agreement \(p.agreement.terms.reference) version \(p.version), valid until \(p.agreement.terms.validUntil).")
        case .partnerRemoved(let id):
            print("Removed \(id).")
        case .operatorChanged(let o):
            print("Operator \(o.id) now has \(o.summary).")
        case .operatorAdded(let issued):
            print("Added operator \(issued.operator.id) (\(issued.operator.summary)), certificate valid until \(Timestamp.format(issued.operator.certificate.notAfter)).")
            if let written {
                print("certificate \(written.certificate)")
                if let key = written.key { print("key         \(key) (mode 0600: hand it over privately)") }
            }
            if issued.privateKeyPEM == nil {
                print("The operator holds its private key: `claimgate operator certificate \(issued.operator.id)` prints its certificate chain.")
            }
            print(issued.operator.certificate.openSSLFingerprint)
        }
    }
}
