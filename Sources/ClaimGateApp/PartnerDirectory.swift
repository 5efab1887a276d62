import ClaimGateCore
import Envelope
import Foundation
import Store

/// The partners as the TLS layer needs them on every handshake and request: each with its trust
/// anchors already parsed. A snapshot is reused for at most `maxAge` seconds, so an agreement
/// change, suspension or new partner made by another `claimgate` process takes effect within
/// that time without a restart; callers refresh at once on a miss.
final class PartnerDirectory: @unchecked Sendable {
    struct Snapshot {
        let partners: [Partner]
        let anchors: [[Certificate]]
        let taken: Date

        /// The partners whose anchor `cert` chains to and whose agreement allows it (pins).
        func identities(of cert: Certificate, at now: Date) -> [Partner] {
            zip(partners, anchors).compactMap { p, a in
                guard !a.isEmpty, (try? cert.verify(chainsTo: a, at: now)) != nil,
                      p.agreement.certificates.allowsTLSClient(fingerprint: cert.sha256Fingerprint, subject: cert.subject)
                else { return nil }
                return p
            }
        }

        /// Whether `leaf` (with the intermediates the client sent) chains to any partner's anchor.
        func chains(_ leaf: Certificate, intermediates: [Certificate], at now: Date) -> Bool {
            anchors.contains { a in !a.isEmpty && (try? leaf.verify(chainsTo: a, intermediates: intermediates, at: now)) != nil }
        }
    }

    private let lock = NSLock()
    private var snapshot: Snapshot?
    let maxAge: TimeInterval

    init(maxAge: TimeInterval = 1) { self.maxAge = maxAge }

    func current(_ store: GatewayStore) -> Snapshot {
        lock.lock()
        let s = snapshot
        lock.unlock()
        if let s, Date().timeIntervalSince(s.taken) < maxAge { return s }
        return refreshed(store)
    }

    func refreshed(_ store: GatewayStore) -> Snapshot {
        let partners = (try? store.partners()) ?? []
        let s = Snapshot(partners: partners,
                         anchors: partners.map { (try? Certificate.parseAll(pem: $0.agreement.certificates.trustAnchorPEM)) ?? [] },
                         taken: Date())
        lock.lock()
        snapshot = s
        lock.unlock()
        return s
    }
}
