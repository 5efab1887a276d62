import ClaimGateCore
import Envelope
import Foundation
import Logging
import Store

/// The partners in force as the TLS layer needs them on every handshake and request: each with its
/// trust anchors and revocation lists already parsed. Removed partners are not in it: a removed
/// partner's certificate never identifies anyone. A snapshot is reused for at most `maxAge`
/// seconds, so an agreement change (a new CRL), suspension or new partner made by another
/// `claimgate` process takes effect within that time without a restart; callers refresh at once
/// on a miss.
final class PartnerDirectory: @unchecked Sendable {
    /// One partner's trust as parsed from its agreement. A partner whose stored anchors or CRLs
    /// cannot be read has no anchors, so nothing chains to it (fail closed).
    struct Trust {
        let anchors: [Certificate]
        let crls: [CertificateRevocationList]

        init(_ c: PartnerCertificates) {
            guard let anchors = try? Certificate.parseAll(pem: c.trustAnchorPEM),
                  let crls = c.crlPEM.map({ try? CertificateRevocationList.parseAll(pem: $0) }) ?? [] else {
                self.anchors = []
                self.crls = []
                return
            }
            self.anchors = anchors
            self.crls = crls
        }

        enum Verdict {
            case trusted
            case untrusted
            /// Chains, but the partner's CRL refuses it: revoked, CRL expired or unusable.
            case refusedByCRL(EnvelopeError)
        }

        func verdict(on cert: Certificate, at now: Date) -> Verdict {
            guard !anchors.isEmpty else { return .untrusted }
            do {
                try cert.verify(chainsTo: anchors, at: now, crls: crls)
                return .trusted
            } catch let e as EnvelopeError where e.code == .revoked || e.code == .crlExpired || e.code == .invalidCRL {
                return .refusedByCRL(e)
            } catch {
                return .untrusted
            }
        }
    }

    /// Why a client certificate is refused when a partner's CRL is the cause.
    struct Revocation {
        /// The partner whose CRL refused it (for the log).
        let partner: PartnerID
        let error: EnvelopeError
        /// Whether that partner's agreement lists the certificate (no pins, or a matching pin):
        /// only then is the refusal that partner's. Another partner sharing the CA may revoke
        /// a certificate that is not its own.
        let owned: Bool
    }

    /// Who a client certificate is, as one snapshot judged it.
    struct Identification {
        /// The certificate's subject and SHA-256 fingerprint, for logs and refusals.
        let subject: String
        let fingerprint: String
        /// Whether the certificate is meant for TLS client authentication at all.
        let allowsClientAuthentication: Bool
        let validity: ClosedRange<Date>
        /// When (by the gateway's clock) it was judged: CRLs and anchors expire too, so a
        /// judgement is reused for one second of that clock at most.
        let judgedAt: Date
        let partners: [Partner]
        /// Partners the certificate would identify but whose agreement does not list `https`
        /// under `delivery.pull`: a certificate identifies only a partner that may use it, and
        /// these only say why it is refused (`transport-not-allowed`).
        let otherTransports: [PartnerID]
        /// Partners whose anchor the certificate chains to but whose agreement pins other client
        /// certificates (`certificates.tls_client`): it is not (or no longer) one they list.
        let pinnedOut: [PartnerID]
        let revocation: Revocation?
    }

    struct Snapshot {
        let partners: [Partner]
        let trust: [Trust]
        /// Removed partners, kept only to say why a certificate of theirs is refused: they never
        /// identify anyone.
        let removed: [(Partner, Trust)]
        let taken: Date
        /// Identifications already made from this snapshot, by certificate DER: a partner's
        /// requests on a kept-alive connection then cost no parsing or signature checks. A
        /// judgement is reused only within the certificate's validity and for one second of the
        /// gateway's clock (the snapshot's own data is up to `maxAge` old anyway).
        let memo = Memo()

        final class Memo: @unchecked Sendable {
            private let lock = NSLock()
            private var byDER: [[UInt8]: Identification] = [:]
            /// A snapshot serves one second of requests; a flood of distinct certificates
            /// is judged afresh rather than held.
            static let capacity = 4096
            func get(_ der: [UInt8]) -> Identification? { lock.withLock { byDER[der] } }
            func put(_ der: [UInt8], _ i: Identification) {
                lock.withLock { if byDER.count < Self.capacity { byDER[der] = i } }
            }
        }

        /// `identities(of:at:)` for a certificate given as DER, remembered for this snapshot's
        /// life; nil when the DER is not a certificate.
        func identification(ofDER der: [UInt8], at now: Date) -> Identification? {
            if let known = memo.get(der), known.validity.contains(now), known.judgedAt <= now,
               now.timeIntervalSince(known.judgedAt) < 1 { return known }
            guard let cert = try? Certificate(der: der) else { return nil }
            let allows = cert.allowsTLSClientAuthentication
            let found: (partners: [Partner], otherTransports: [PartnerID], pinnedOut: [PartnerID], revocation: Revocation?) =
                allows ? identities(of: cert, at: now) : ([], [], [], nil)
            let validity = cert.notBefore...max(cert.notBefore, cert.notAfter)
            let i = Identification(subject: cert.subject, fingerprint: cert.sha256Fingerprint, allowsClientAuthentication: allows,
                                   validity: validity, judgedAt: now, partners: found.partners, otherTransports: found.otherTransports,
                                   pinnedOut: found.pinnedOut,
                                   revocation: found.revocation)
            // Only what was judged inside the certificate's validity is remembered.
            if validity.contains(now) { memo.put(der, i) }
            return i
        }

        /// The partners whose anchor `cert` chains to and whose agreement allows it (pins); and,
        /// when the CRL of any partner whose anchor it chains to refuses it (revoked, CRL expired
        /// or unusable), that refusal, which refuses the certificate whoever else trusts it.
        func identities(of cert: Certificate, at now: Date)
            -> (partners: [Partner], otherTransports: [PartnerID], pinnedOut: [PartnerID], revocation: Revocation?) {
            var matching: [Partner] = [], otherTransports: [PartnerID] = [], pinnedOut: [PartnerID] = []
            var revocation: Revocation?
            for (p, t) in zip(partners, trust) {
                switch t.verdict(on: cert, at: now) {
                case .trusted: break
                case .untrusted: continue
                case .refusedByCRL(let e):
                    let owned = p.agreement.certificates.allowsTLSClient(fingerprint: cert.sha256Fingerprint, subject: cert.subject)
                    if revocation == nil || (owned && revocation?.owned == false) {
                        revocation = Revocation(partner: p.id, error: e, owned: owned)
                    }
                    continue
                }
                if !p.agreement.certificates.allowsTLSClient(fingerprint: cert.sha256Fingerprint, subject: cert.subject) {
                    pinnedOut.append(p.id)
                } else if p.agreement.delivery.pull.contains(.https) {
                    matching.append(p)
                } else {
                    otherTransports.append(p.id)
                }
            }
            return (matching, otherTransports, pinnedOut, revocation)
        }

        /// Whether `leaf` chains to some partner's anchor and no CRL of an agreement that trusts
        /// its issuer refuses it; otherwise the CRL refusal, if one was the cause.
        func chains(_ leaf: Certificate, at now: Date) -> (accepted: Bool, revocation: Revocation?) {
            var trusted = false
            for (p, t) in zip(partners, trust) {
                switch t.verdict(on: leaf, at: now) {
                case .trusted: trusted = true
                case .untrusted: continue
                case .refusedByCRL(let e):
                    let owned = p.agreement.certificates.allowsTLSClient(fingerprint: leaf.sha256Fingerprint, subject: leaf.subject)
                    return (false, Revocation(partner: p.id, error: e, owned: owned))
                }
            }
            return (trusted, nil)
        }

        /// The removed partner whose anchor and pins `der` would have matched, if any: only to
        /// record a refusal with its real reason (`partner-removed`).
        func removedPartner(ofDER der: [UInt8], at now: Date) -> PartnerID? {
            guard !removed.isEmpty, let cert = try? Certificate(der: der) else { return nil }
            return removed.first { p, t in
                if case .trusted = t.verdict(on: cert, at: now) {
                    return p.agreement.certificates.allowsTLSClient(fingerprint: cert.sha256Fingerprint, subject: cert.subject)
                }
                return false
            }?.0.id
        }

        /// One partner as this snapshot holds it.
        func partner(_ id: PartnerID) -> Partner? { partners.first { $0.id == id } }
    }

    private let lock = NSLock()
    private var snapshot: Snapshot?
    /// Each partner's agreement version and status as last seen, to log what changed.
    private var seen: [PartnerID: (version: Int, status: PartnerStatus)]?
    let maxAge: TimeInterval
    let logger: Logger?

    init(maxAge: TimeInterval = 1, logger: Logger? = nil) { self.maxAge = maxAge; self.logger = logger }

    func current(_ store: GatewayStore) -> Snapshot {
        lock.lock()
        let s = snapshot
        lock.unlock()
        if let s, Date().timeIntervalSince(s.taken) < maxAge { return s }
        return refreshed(store)
    }

    func refreshed(_ store: GatewayStore) -> Snapshot {
        // Stamped before the read: a snapshot is never newer than what it read. Two threads may
        // refresh at once; the one that read later wins, never an older read installed last.
        let started = Date()
        let all = (try? store.partners()) ?? []
        let partners = all.filter { $0.status != .removed }
        let s = Snapshot(partners: partners, trust: partners.map { Trust($0.agreement.certificates) },
                         removed: all.filter { $0.status == .removed }.map { ($0, Trust($0.agreement.certificates)) }, taken: started)
        let (installed, changes): (Snapshot, [(PartnerID, String, Int)]) = lock.withLock {
            if let current = snapshot, current.taken > s.taken { return (current, []) }
            snapshot = s
            let now = Dictionary(all.map { ($0.id, (version: $0.version, status: $0.status)) }, uniquingKeysWith: { a, _ in a })
            var changes: [(PartnerID, String, Int)] = []
            if let before = seen {
                for (id, p) in now.sorted(by: { $0.key < $1.key }) {
                    guard let b = before[id] else { changes.append((id, "onboarded", p.version)); continue }
                    if b.status != p.status { changes.append((id, p.status.rawValue, p.version)) }
                    else if b.version != p.version { changes.append((id, "agreement updated", p.version)) }
                }
            }
            seen = now
            return (s, changes)
        }
        for (id, what, version) in changes {
            logger?.info("partner changed", metadata: ["partner.id": "\(id)", "change": "\(what)", "agreement.version": "\(version)"])
        }
        return installed
    }
}

extension Refusal.Reason {
    /// The refusal reason for a certificate refused by a partner's CRL.
    static func revocation(_ code: EnvelopeError.Code) -> Refusal.Reason {
        switch code {
        case .revoked: return .certificateRevoked
        case .crlExpired: return .crlExpired
        default: return .crlUnusable
        }
    }
}
