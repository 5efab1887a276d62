import ArgumentParser
import ClaimGateApp
import Operations
import ClaimGateCore
import Envelope
import Foundation

/// `claimgate partner rotate ID --encryption NEW.pem [--from DATE]`: rolls a partner's
/// encryption certificate over in a new agreement version.
struct PartnerRotateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Roll a partner's encryption certificate over: from a UTC day on (--from), or now.",
        discussion: """
        Stores a new agreement version: with --from, the current certificate stays in use until the \
        end of the day before and new bundles are encrypted to NEW.pem from the start of DATE (UTC); \
        without it, NEW.pem replaces the encryption certificate at once. NEW.pem gets the checks \
        certificates.encryption gets (key kind and usage, validity, chain to the trust anchor, not \
        revoked). Bundles already sealed stay encrypted to the certificate of their day.
        Then put the same change in the partner's agreement file (certificates.next_encryption, \
        see docs/agreements.md): the next `partner update` stores what that file says.
        """)
    @OptionGroup var home: GatewayOptions
    @Argument(help: "Partner id.") var id: String
    @Option(help: ArgumentHelp("The partner's new encryption certificate (PEM; intermediates may follow it).", valueName: "NEW.pem"))
    var encryption: String
    @Option(help: ArgumentHelp("First UTC day new bundles are encrypted to it (default: now).", valueName: "YYYY-MM-DD"))
    var from: String?
    @Flag(help: "Print the partner as JSON.") var json = false

    /// A rotation as the operator API answers it.
    struct Rotated: Decodable {
        let partner: PartnerView
        let fingerprint: String
        let from: String?
    }

    func run() throws {
        let day: CalendarDay?
        do { day = try from.map(CalendarDay.init(parsing:)) } catch {
            throw ValidationError("--from '\(from ?? "")' is not a date: use YYYY-MM-DD (a UTC day).")
        }
        let rotated: Rotated
        if let api = try home.remote() {
            struct Body: Encodable { let encryption_file: String; let files: [String: String]; let from: String? }
            let (path, files) = try AgreementUpload.files(encryption, what: "--encryption file")
            switch try api.change(Rotated.self, ["v1", "partners", id, "rotate"], body: Body(encryption_file: path, files: files, from: day?.description)) {
            case .pending(let c): return try printPending(c, json: json)
            case .applied(let r): rotated = r
            }
        } else {
            let g = try home.gateway()
            // A refused rotation (wrong key usage, revoked, after the agreement ends, a shared
            // trust anchor…) is recorded.
            let outcome = try g.rotateEncryption(of: id, encryptionFile: encryption, from: day, by: localPrincipal)
            guard case .applied(let rotation) = outcome else { return try printPending(outcome.pendingChange!, json: json, now: g.clock.now) }
            rotated = Rotated(partner: g.view(rotation.partner), fingerprint: rotation.fingerprint,
                              from: rotation.partner.agreement.certificates.nextEncryptionFrom?.description)
        }
        let (p, fingerprint, scheduled) = (rotated.partner, rotated.fingerprint, rotated.from)
        if json { try printJSON(p); return }
        if let scheduled {
            print("Rotated \(p.id) (agreement version \(p.agreementVersion)): bundles sealed from \(scheduled) (UTC) on are encrypted to SHA-256 \(fingerprint); until then, to the current certificate.")
        } else {
            print("Rotated \(p.id) (agreement version \(p.agreementVersion)): new bundles are encrypted to SHA-256 \(fingerprint) from now on.")
        }
        print("Put the same change in \(p.id)'s agreement file (certificates.next_encryption or certificates.encryption) before its next `claimgate partner update`.")
    }
}
