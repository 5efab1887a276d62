import ClaimGateCore
import Envelope
import Foundation
import Logging
import Store

/// The one rule that decides whether a credential may act for a partner now, for every transport
/// and before every request: the partner is onboarded and in force (neither suspended nor removed,
/// agreement not ended), the credential is one its agreement lists (an SSH key in
/// `ssh.authorized_keys`; a client certificate chaining to `certificates.trust_anchor`, matching
/// its pins, revoked by no CRL of an agreement that trusts its issuer, and identifying exactly one
/// partner), and the transport is under `delivery.pull`.
struct SessionRule: Sendable {
    let store: GatewayStore
    let directory: PartnerDirectory
    let clock: any WallClock
    let logger: Logger

    /// The partner `credential` may act for over `transport` now, or why not.
    func judge(_ credential: PartnerCredential, transport: Transport) -> Result<Partner, Refusal> {
        let found: Result<Partner, Refusal>
        switch credential {
        case .sshKey(let user, let key): found = partner(user: user, sshKey: key)
        case .clientCertificate(let der): found = partner(clientCertificate: der)
        }
        return found.flatMap { p in
            if case .fails(let r) = PartnerPolicy.mayAct(clock: clock).evaluate(p) { return .failure(r.of(p.id)) }
            let pull: PullTransport? = transport == .sftp ? .sftp : transport == .https ? .https : nil
            guard let pull, p.agreement.delivery.pull.contains(pull) else {
                return .failure(Refusal(.transportNotAllowed,
                    "Agreement \(p.agreement.terms.reference) does not list \(transport.rawValue) under delivery.pull.", partner: p.id))
            }
            return .success(p)
        }
    }

    /// SSH: the user name is the partner id; read from the store, so a change applies at once.
    private func partner(user: String, sshKey: String) -> Result<Partner, Refusal> {
        guard PartnerID.isValid(user), let id = try? PartnerID(user), let p = try? store.partner(id) else {
            return .failure(Refusal(.unknownPartner, "No partner '\(user.prefix(64))'."))
        }
        guard p.agreement.sshAuthorizedKeys.contains(where: { Self.sameKey($0, sshKey) }) else {
            // Not attributed: an unknown key proves nothing about who tried.
            return .failure(Refusal(.unknownKey, "This key is not in \(id)'s agreement."))
        }
        return .success(p)
    }

    /// Compares `TYPE BASE64` of two authorized_keys lines, ignoring comments.
    static func sameKey(_ a: String, _ b: String) -> Bool {
        let x = a.split(separator: " ").prefix(2), y = b.split(separator: " ").prefix(2)
        return x.count == 2 && Array(x) == Array(y)
    }

    /// TLS: judged against the partners in force as a snapshot at most a second old holds them
    /// (refreshed at once on a miss, so a partner onboarded a moment ago is found).
    private func partner(clientCertificate der: [UInt8]) -> Result<Partner, Refusal> {
        var found = directory.current(store).identification(ofDER: der, at: clock.now)
        if let f = found, f.allowsClientAuthentication, f.partners.isEmpty, f.revocation == nil {
            found = directory.refreshed(store).identification(ofDER: der, at: clock.now)
        }
        guard let found else {
            return .failure(Refusal(.unknownPartner, "The client certificate cannot be read."))
        }
        // The custom handshake check replaces the TLS library's, purpose included: only a
        // certificate meant for TLS client authentication identifies a partner.
        guard found.allowsClientAuthentication else {
            return .failure(Refusal(.certificateNotForClients,
                "The client certificate '\(found.subject)' is not meant for TLS client authentication (key usage / extended key usage clientAuth)."))
        }
        // Revoked by the CRL of any agreement that trusts its issuer: refused, whoever else trusts it.
        if let r = found.revocation {
            logRevocation(r, subject: found.subject, fingerprint: found.fingerprint, "request")
            return .failure(Refusal(.revocation(r.error.code), r.error.message, partner: r.owned ? r.partner : nil))
        }
        switch found.partners.count {
        case 0 where !found.otherTransports.isEmpty:
            // A partner the certificate would identify, but whose agreement does not (or no
            // longer) lists https under delivery.pull.
            return .failure(Refusal(.transportNotAllowed,
                "The client certificate belongs to a partner whose agreement does not list https under delivery.pull.",
                partner: found.otherTransports.count == 1 ? found.otherTransports[0] : nil))
        case 0 where found.pinnedOut.count == 1:
            return .failure(Refusal(.unknownKey,
                "The client certificate '\(found.subject)' chains to \(found.pinnedOut[0])'s trust anchor but is not one its agreement pins (certificates.tls_client).",
                partner: found.pinnedOut[0]))
        case 0:
            if let removed = directory.current(store).removedPartner(ofDER: der, at: clock.now) {
                return .failure(Refusal(.partnerRemoved, "Partner \(removed) was removed: its client certificates identify no one.",
                                        partner: removed))
            }
            return .failure(Refusal(.unknownPartner,
                "The client certificate '\(found.subject)' does not chain to any partner's trust anchor, or is not one its agreement pins."))
        case 1:
            return .success(found.partners[0])
        default:
            return .failure(Refusal(.certificateAmbiguous,
                "The client certificate chains to several partners' trust anchors: refused as ambiguous (pin it in certificates.tls_client)."))
        }
    }

    /// The handshake-time check: a chain whose leaf some partner in force may use.
    func acceptsClientCertificate(chainDER: [[UInt8]]) -> Bool {
        guard let leafDER = chainDER.first, let leaf = try? Certificate(der: leafDER), leaf.allowsTLSClientAuthentication else { return false }
        // Intermediates the client sends are not used: the request-time rule judges the leaf by
        // the agreements' anchors alone, and the handshake must not accept what every request
        // would then refuse. A partner issuing through an intermediate CA lists it in trust_anchor.
        let now = clock.now
        let cached = directory.current(store).chains(leaf, at: now)
        if cached.accepted { return true }
        let fresh = cached.revocation == nil ? directory.refreshed(store).chains(leaf, at: now) : cached
        if let r = fresh.revocation { logRevocation(r, subject: leaf.subject, fingerprint: leaf.sha256Fingerprint, "handshake") }
        return fresh.accepted
    }

    /// Logs why a partner's CRL refused a client certificate (the wire says only "refused").
    private func logRevocation(_ r: PartnerDirectory.Revocation, subject: String, fingerprint: String, _ stage: String) {
        logger.info("client certificate refused by a partner's CRL", metadata: [
            "partner.id": "\(r.partner)", "tls.stage": "\(stage)", "reason": "\(Refusal.Reason.revocation(r.error.code))",
            "certificate.sha256": "\(fingerprint)", "error": "\(r.error.message)"])
    }
}
