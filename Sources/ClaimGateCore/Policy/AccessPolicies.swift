import Foundation

/// A bundle may still be listed or served under its partner's agreement as it stands now: its
/// purpose and every one of its document types are still allowed. Purpose limitation holds at
/// every access, not only when the bundle was sealed: when `partner update` withdraws a purpose
/// or a document type, the bundles sealed for it are no longer listed or served.
public struct BundleWithinAgreement: Policy {
    public let terms: AgreementTerms
    public init(_ terms: AgreementTerms) { self.terms = terms }

    public func evaluate(_ b: BundleRecord) -> PolicyResult {
        guard terms.purposes.contains(b.purpose) else {
            return .fails(Refusal(.purposeNotAllowed,
                "Agreement \(terms.reference) no longer allows purpose '\(b.purpose)': bundle \(b.id.description) is withheld."))
        }
        guard !b.documentTypes.isEmpty else {
            return .fails(Refusal(.documentTypeNotAllowed, "Bundle \(b.id.description) lists no readable document types."))
        }
        if let type = b.documentTypes.first(where: { !terms.documentTypes.contains($0) }) {
            return .fails(Refusal(.documentTypeNotAllowed,
                "Agreement \(terms.reference) no longer allows \(type): bundle \(b.id.description) is withheld."))
        }
        return .meets
    }
}

/// Everything a partner's access to one of its bundles must meet now: the bundle is its own, in
/// a deliverable state, not expired, and within the agreement as it stands.
public struct BundleAccessible: Policy {
    public let partner: Partner
    public let clock: any WallClock
    public init(partner: Partner, clock: any WallClock) { self.partner = partner; self.clock = clock }

    public func evaluate(_ b: BundleRecord) -> PolicyResult {
        guard b.partnerID == partner.id else {
            return .fails(Refusal(.bundleUnavailable, "Bundle \(b.id.description) is not shared with \(partner.id)."))
        }
        // In order, without building a policy list per access (this runs on every download).
        if case .fails(let r) = BundleAvailable(clock: clock).evaluate(b) { return .fails(r) }
        return BundleWithinAgreement(partner.agreement.terms).evaluate(b)
    }
}
