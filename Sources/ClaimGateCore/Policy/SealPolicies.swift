import Foundation

/// The validity period of a certificate, as the policies need it.
public struct CertificateValidity: Sendable, Hashable {
    public var notBefore: Date
    public var notAfter: Date
    public init(notBefore: Date, notAfter: Date) { self.notBefore = notBefore; self.notAfter = notAfter }
}

/// Everything the seal-time policies look at.
public struct SealRequest: Sendable {
    public var partner: Partner
    public var purpose: String
    public var created: Date
    public var expires: Date
    /// Each document's name and sniffed media type.
    public var documents: [(name: String, mediaType: String)]
    public var encryptionCertificate: CertificateValidity

    public init(partner: Partner, purpose: String, created: Date, expires: Date,
                documents: [(name: String, mediaType: String)], encryptionCertificate: CertificateValidity) {
        self.partner = partner; self.purpose = purpose; self.created = created; self.expires = expires
        self.documents = documents; self.encryptionCertificate = encryptionCertificate
    }
}

/// The partner is active (not suspended).
public struct PartnerActive: Policy {
    public init() {}
    public func evaluate(_ p: Partner) -> PolicyResult {
        switch p.status {
        case .active: return .meets
        case .suspended: return .fails(Refusal(.partnerSuspended,
            "Partner \(p.id) is suspended: nothing can be shared until an admin resumes it."))
        case .removed: return .fails(Refusal(.partnerRemoved,
            "Partner \(p.id) was removed: nothing can be shared with it any more."))
        }
    }
}

/// The agreement has not ended.
public struct AgreementInForce: Policy {
    public let clock: any WallClock
    public init(clock: any WallClock) { self.clock = clock }
    public func evaluate(_ p: Partner) -> PolicyResult {
        let t = p.agreement.terms
        return clock.now < t.endsAt ? .meets : .fails(Refusal(.agreementEnded,
            "The agreement \(t.reference) with \(p.id) ended at the end of \(t.validUntil): nothing more can be shared until a renewed agreement is onboarded as a new version."))
    }
}

/// Whether a partner may act now (log in, list, download, upload): active, agreement in force.
public enum PartnerPolicy {
    public static func mayAct(clock: any WallClock) -> AllOf<Partner> {
        AllOf([PartnerActive(), AgreementInForce(clock: clock)])
    }
}

/// The purpose is one the agreement allows.
public struct PurposeAllowed: Policy {
    public init() {}
    public func evaluate(_ r: SealRequest) -> PolicyResult {
        let allowed = r.partner.agreement.terms.purposes
        return allowed.contains(r.purpose) ? .meets : .fails(Refusal(.purposeNotAllowed,
            "Purpose '\(r.purpose.prefix(64))' is not allowed by agreement \(r.partner.agreement.terms.reference): use one of \(allowed.joined(separator: ", "))."))
    }
}

/// Every document's sniffed media type is one the agreement allows.
public struct DocumentTypesAllowed: Policy {
    public init() {}
    public func evaluate(_ r: SealRequest) -> PolicyResult {
        let allowed = r.partner.agreement.terms.documentTypes
        for d in r.documents where !allowed.contains(d.mediaType) {
            return .fails(Refusal(.documentTypeNotAllowed,
                "Document '\(d.name)' is \(d.mediaType) by its content, which agreement \(r.partner.agreement.terms.reference) does not allow: share only \(allowed.joined(separator: ", "))."))
        }
        return .meets
    }
}

/// The expiry is in the future, within the retention limit and within the agreement.
public struct ExpiryWithinAgreement: Policy {
    public let clock: any WallClock
    public init(clock: any WallClock) { self.clock = clock }
    public func evaluate(_ r: SealRequest) -> PolicyResult {
        let t = r.partner.agreement.terms
        if r.expires <= clock.now {
            return .fails(Refusal(.expiryInPast,
                "Expiry \(Timestamp.format(r.expires)) is not in the future: choose a later --expires or a --ttl."))
        }
        let limit = r.created.addingTimeInterval(TimeInterval(t.maxRetentionDays) * 86_400)
        if r.expires > limit {
            return .fails(Refusal(.expiryBeyondRetention,
                "Expiry \(Timestamp.format(r.expires)) is later than the \(t.maxRetentionDays)-day retention agreement \(t.reference) allows: expire on or before \(Timestamp.format(limit))."))
        }
        if r.expires > t.endsAt {
            return .fails(Refusal(.expiryBeyondAgreement,
                "Expiry \(Timestamp.format(r.expires)) is after agreement \(t.reference) ends (\(t.validUntil)): expire on or before \(t.validUntil)."))
        }
        return .meets
    }
}

/// The partner's encryption certificate is valid now.
public struct EncryptionCertificateValid: Policy {
    public let clock: any WallClock
    public init(clock: any WallClock) { self.clock = clock }
    public func evaluate(_ r: SealRequest) -> PolicyResult {
        let v = r.encryptionCertificate, now = clock.now
        if now < v.notBefore {
            return .fails(Refusal(.certificateNotValid,
                "\(r.partner.id)'s encryption certificate is not valid before \(Timestamp.format(v.notBefore)): wait, or onboard a current certificate."))
        }
        if now >= v.notAfter {
            return .fails(Refusal(.certificateNotValid,
                "\(r.partner.id)'s encryption certificate expired on \(Timestamp.format(v.notAfter)): ask the partner for a new one and onboard it in a new agreement version."))
        }
        return .meets
    }
}

/// The standard seal-time policy: every check the agreement imposes, in a fixed order.
public enum SealPolicy {
    public static func standard(clock: any WallClock) -> AllOf<SealRequest> {
        AllOf([
            Focus(\.partner, PartnerActive()),
            Focus(\.partner, AgreementInForce(clock: clock)),
            PurposeAllowed(),
            EncryptionCertificateValid(clock: clock),
            ExpiryWithinAgreement(clock: clock),
            DocumentTypesAllowed(),
        ])
    }
}

/// A bundle has not expired (checked at every access, on the partner side by `open`).
public struct BundleNotExpired: Policy {
    public let clock: any WallClock
    public init(clock: any WallClock) { self.clock = clock }
    public func evaluate(_ manifest: BundleManifest) -> PolicyResult {
        clock.now < manifest.expires ? .meets : .fails(Refusal(.bundleExpired,
            "Bundle \(manifest.bundleID.description) expired at \(Timestamp.format(manifest.expires)): ask the sender to share it again if it is still needed."))
    }
}

/// Whether a bundle can be listed or served now: in a deliverable state and not expired.
public struct BundleAvailable: Policy {
    public let clock: any WallClock
    public init(clock: any WallClock) { self.clock = clock }
    public static let availableStates: Set<BundleState> = [.queued, .delivered, .downloaded, .acknowledged]
    public func evaluate(_ b: BundleRecord) -> PolicyResult {
        guard Self.availableStates.contains(b.state) else {
            return .fails(Refusal(.bundleUnavailable, "Bundle \(b.id.description) is \(b.state.rawValue)."))
        }
        guard clock.now < b.expires else {
            return .fails(Refusal(.bundleExpired, "Bundle \(b.id.description) expired at \(Timestamp.format(b.expires))."))
        }
        return .meets
    }
}
