import ArgumentParser
import ClaimGateCore
import Foundation
import Operations
import OperatorClient

/// Prints what a command prints for a change kept for a second operator's approval (four eyes):
/// `pending change ID`, or `{"pending": "ID"}` with `--json`. The command exits 0.
func printPending(_ change: PendingChange, json: Bool, now: Date = Date()) throws {
    try printPending(PendingChangeView(change, now: now), json: json)
}

/// The same for a change as the operator API describes it (remote mode).
func printPending(_ change: PendingChangeView, json: Bool) throws {
    if json { try printJSON(["pending": change.id]); return }
    print("pending change \(change.id)")
    print("\(change.action) \(change.target) waits for a second operator: `claimgate approve \(change.id)` (by \(change.expires)).")
}

/// `claimgate pending`: changes that wait for a second operator (four eyes, docs/operators.md).
struct PendingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pending", abstract: "List changes waiting for a second operator's approval (four eyes).",
        discussion: "A change to a partner's agreement, or a grant of security-officer, asked for by an operator while another operator holds the same role waits here until a different operator runs `claimgate approve ID`; it expires after 7 days. See docs/operators.md.",
        subcommands: [List.self, Show.self, Withdraw.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List pending changes (expired ones shown as expired).")
        @OptionGroup var home: GatewayOptions
        @Flag(help: "Also list approved and withdrawn changes.") var all = false
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let changes: [PendingChangeView]
            if let api = try home.remote() {
                changes = try api.get(["v1", "pending"], query: [("all", all ? "true" : nil)])
            } else {
                let g = try home.gateway()
                let now = g.clock.now
                changes = try g.pendingChanges(by: localPrincipal).filter { all || [.pending, .expired].contains($0.state(at: now)) }
                    .map { PendingChangeView($0, now: now) }
            }
            if json { try printJSON(changes); return }
            if changes.isEmpty { print("No pending changes."); return }
            print("ID".padding(12) + "STATE".padding(10) + "ACTION".padding(16) + "TARGET".padding(24) + "EXPIRES".padding(22) + "PROPOSED BY")
            for c in changes {
                print(c.id.padding(12) + c.state.padding(10) + c.action.padding(16) + c.target.padding(24) + c.expires.padding(22) + c.proposedBy)
                print("".padding(12) + c.summary)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one pending change and what it would do if approved now.")
        @OptionGroup var home: GatewayOptions
        @Argument(help: "The change's id.") var id: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let preview: PendingChangeView
            if let api = try home.remote() {
                preview = try api.get(["v1", "pending", id])
            } else {
                let g = try home.gateway()
                preview = PendingChangeView(try g.previewChange(id, by: localPrincipal), now: g.clock.now)
            }
            if json { try printJSON(preview); return }
            printPreview(preview)
        }
    }

    struct Withdraw: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Withdraw a pending change (its proposer, or at the gateway host's shell).")
        @OptionGroup var home: GatewayOptions
        @Argument(help: "The change's id.") var id: String

        func run() throws {
            let (changeID, action, target): (String, String, String)
            if let api = try home.remote() {
                let c: PendingChangeView = try api.post(["v1", "pending", id, "withdraw"])
                (changeID, action, target) = (c.id, c.action, c.target)
            } else {
                let c = try home.gateway().withdrawChange(id, by: localPrincipal)
                (changeID, action, target) = (c.id.rawValue, c.action.rawValue, c.target)
            }
            print("Withdrew change \(changeID) (\(action) \(target)): it can no longer be approved.")
        }
    }
}

/// A pending change as `pending show` and `approve` print it.
func printPreview(_ c: PendingChangeView) {
    print("""
    change \(c.id): \(c.action) \(c.target) (\(c.state))
      proposed by  \(c.proposedBy)
      proposed     \(c.created), expires \(c.expires)
      summary      \(c.summary)
    """)
    if let by = c.settledBy { print("  settled by   \(by) on \(c.settledAt ?? "?")") }
    if let details = c.details, !details.isEmpty {
        print("  if approved now:")
        for line in details { print("    \(line)") }
    }
    if let blocked = c.blocked { print("  cannot be approved: \(blocked)") }
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
    @OptionGroup var home: GatewayOptions
    @Argument(help: "The change's id (see `claimgate pending`).") var id: String
    @Flag(name: .shortAndLong, help: "Approve without asking.") var yes = false
    @Option(help: ArgumentHelp("For an `operator add`: the folder to write NAME.pem and NAME.key to (NAME.pem alone for an operator that sent its public key).", valueName: "DIR"))
    var out: String?
    @Flag(help: "Print the approved change as JSON.") var json = false

    /// What an approval applied, as the operator API answers it (`approve --json` prints the change).
    struct Approved: Decodable {
        let change: PendingChangeView
        let applied: Applied
        struct Applied: Decodable {
            let kind: String
            let partner: PartnerView?
            let partnerID: String?
            let `operator`: OperatorView?
            let certificate_chain_pem: String?

            enum CodingKeys: String, CodingKey { case kind, partner, `operator`, certificate_chain_pem }
            init(kind: String, partner: PartnerView? = nil, partnerID: String? = nil, operator o: OperatorView? = nil, chain: String? = nil) {
                self.kind = kind; self.partner = partner; self.partnerID = partnerID; self.operator = o; certificate_chain_pem = chain
            }
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                kind = try c.decode(String.self, forKey: .kind)
                // `partner` is the partner's view, or its id for a removal.
                if kind == "partner-removed" {
                    partnerID = try c.decode(String.self, forKey: .partner); partner = nil
                } else {
                    partner = try c.decodeIfPresent(PartnerView.self, forKey: .partner); partnerID = nil
                }
                `operator` = try c.decodeIfPresent(OperatorView.self, forKey: .operator)
                certificate_chain_pem = try c.decodeIfPresent(String.self, forKey: .certificate_chain_pem)
            }
        }
    }

    func run() throws {
        let api = try home.remote()
        let g = api == nil ? try home.gateway() : nil
        let localPreview = try g?.previewChange(id, by: localPrincipal)
        let preview: PendingChangeView
        if let api { preview = try api.get(["v1", "pending", id]) } else { preview = PendingChangeView(localPreview!, now: g!.clock.now) }
        if preview.blocked == nil {
            if preview.action == OperatorAction.operatorAdd.rawValue {
                if let local = localPreview, g!.changeIssuesPrivateKey(local.change), out == nil {
                    throw ValidationError("Change \(preview.id) adds operator \(preview.target): give --out DIR for its certificate and key.")
                }
                // The key exists only once, when the certificate is issued: the files must be writable then.
                for ext in ["pem", "key"] where out.map({ FileManager.default.fileExists(atPath: $0 + "/" + preview.target + "." + ext) }) == true {
                    throw ValidationError("\(out!)/\(preview.target).\(ext) already exists: choose another --out folder, or move it away.")
                }
            }
            if !json { printPreview(preview) }
            if !yes, isatty(STDIN_FILENO) == 1 {
                FileHandle.standardError.write(Data("Approve change \(preview.id)? [y/N] ".utf8))
                let answer = (readLine() ?? "").trimmingCharacters(in: .whitespaces).lowercased()
                guard answer == "y" || answer == "yes" else {
                    FileHandle.standardError.write(Data("Not approved: nothing changed.\n".utf8))
                    throw ExitCode(1)
                }
            }
        }
        // A change that cannot be approved is refused (and recorded) by the approval itself.
        let approved: Approved
        var written: (certificate: String, key: String?)?
        // Whether a new operator holds its own private key (it sent its public key): through the
        // API always, since the API never hands out a key the gateway made.
        var holdsKey = api != nil
        if let api {
            approved = try api.post(["v1", "pending", id, "approve"])
            if let chain = approved.applied.certificate_chain_pem, let out, let o = approved.applied.operator {
                let dir = FileSystem.absolute(out)
                try FileSystem.makeDirectory(dir, mode: 0o700)
                let path = dir + "/" + o.name + ".pem"
                try FileSystem.writeAtomically(Data(chain.utf8), to: path, mode: 0o644)
                written = (path, nil)
            }
        } else {
            let (change, applied) = try g!.approveChange(id, by: localPrincipal)
            let view = PendingChangeView(change, now: g!.clock.now)
            switch applied {
            case .partner(let p):
                approved = Approved(change: view, applied: .init(kind: "partner", partner: g!.view(p)))
            case .partnerRemoved(let id):
                approved = Approved(change: view, applied: .init(kind: "partner-removed", partnerID: id.rawValue))
            case .operatorChanged(let o):
                approved = Approved(change: view, applied: .init(kind: "operator", operator: OperatorView(o)))
            case .operatorAdded(let issued):
                holdsKey = issued.privateKeyPEM == nil
                if let out {
                    // An operator that sent its public key holds its private key: only the chain is written.
                    if holdsKey {
                        written = (try issued.writeCertificateChain(to: out), nil)
                    } else {
                        let files = try issued.write(to: out)
                        written = (files.certificate, files.key)
                    }
                }
                approved = Approved(change: view, applied: .init(kind: "operator-added", operator: OperatorView(issued.operator),
                                                                 chain: issued.certificateChainPEM))
            }
        }
        let change = approved.change
        if json { try printJSON(change); return }
        print("Approved change \(change.id) (\(change.action) \(change.target), proposed by \(change.proposedBy)).")
        let a = approved.applied
        switch a.kind {
        case "partner":
            if let p = a.partner { print("\(p.id): agreement \(p.agreementReference) version \(p.agreementVersion), valid until \(p.validUntil).") }
        case "partner-removed":
            print("Removed \(a.partnerID ?? change.target).")
        case "operator":
            if let o = a.operator { print("Operator \(o.name) now has \(o.summary).") }
        default:
            guard let o = a.operator else { break }
            print("Added operator \(o.name) (\(o.summary)), certificate valid until \(o.certificateNotAfter).")
            if let written {
                print("certificate \(written.certificate)")
                if let key = written.key { print("key         \(key) (mode 0600: hand it over privately)") }
            }
            if holdsKey {
                print("The operator holds its private key: `claimgate operator certificate \(o.name)` prints its certificate chain.")
            }
            print(o.certificateFingerprint)
        }
    }
}
