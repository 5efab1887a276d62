import ClaimGateCore
import Foundation

extension Gateway {
    /// Validates and onboards the agreement file at `path`. Nothing is stored when any check fails;
    /// the refusal is recorded. When a second operator must agree (four eyes), the validated
    /// agreement, with the files it names as read now, is kept as a pending change instead.
    /// - Parameters:
    ///   - path: the agreement file's absolute path (relative: to the working directory).
    ///   - sent: the agreement file and every file it names, as a client sent them, by absolute
    ///     path (the operator API): nothing is read from disk. nil reads them from disk.
    ///   - principal: who asks.
    @discardableResult
    public func addPartner(agreementFile path: String, files sent: InputFiles? = nil, by principal: Principal) throws -> ChangeOutcome<Partner> {
        try authorize(.partnerAdd, partner: AgreementLoader.peekPartnerID(path: path, files: sent), by: principal)
        return try recordingRefusal(ofAgreementFile: path, files: sent, by: principal) {
            let files = sent ?? InputFiles()
            let (agreement, source) = try AgreementLoader.load(path: path, files: files, clock: clock)
            try authorize(.partnerAdd, partner: agreement.id, by: principal)
            try checkOnboarding(agreement)
            if try needsSecondOperator(.partnerAdd, by: principal) {
                return .pending(try propose(.partnerAdd, partner: agreement.id, target: agreement.id.rawValue,
                                            summary: "onboard: agreement \(agreement.terms.reference) valid until \(agreement.terms.validUntil)",
                                            payload: .agreement(path: FileSystem.absolute(path), files: files.contents, version: nil), by: principal))
            }
            return .applied(try onboard(agreement, source: source, by: principal))
        }
    }

    /// Runs `body` (which reads the agreement file at `path`, from `files` when given); a refusal
    /// is recorded, with the partner id the file names if it can be read, and rethrown.
    func recordingRefusal<T>(ofAgreementFile path: String, files: InputFiles?, by principal: Principal, _ body: () throws -> T) throws -> T {
        try recordingRefusal(of: AgreementLoader.peekPartnerID(path: path, files: files), by: principal, body)
    }

    /// Runs an admin change to `partner`'s agreement; a refusal is recorded
    /// (`partner-refused` with the error code) and rethrown.
    public func recordingRefusal<T>(of partner: PartnerID?, by principal: Principal, _ body: () throws -> T) throws -> T {
        let now = clock.now
        do { return try body() } catch let e as ClaimGateError {
            try store.record(TransferEvent(time: now, actor: principal.actor, action: .partnerRefused,
                                           outcome: .refused, partnerID: partner, reason: EventReason(EventReason.Code(e.code)), transport: principal.transport))
            throw e
        }
    }

    /// Stores an agreement already loaded and validated by `AgreementLoader`, at once: for the
    /// shell and the gateway's own tools. An operator whose change needs a second operator gives
    /// the agreement file (`addPartner(agreementFile:by:)`), so that the change can wait.
    public func addPartner(_ agreement: PartnerAgreement, source: String, by principal: Principal) throws -> Partner {
        try authorize(.partnerAdd, partner: agreement.id, by: principal)
        try requireNoSecondOperator(.partnerAdd, by: principal)
        try checkOnboarding(agreement)
        return try onboard(agreement, source: source, by: principal)
    }

    /// What onboarding checks beyond the agreement file: the id is free, the trust anchor is
    /// the partner's own.
    func checkOnboarding(_ agreement: PartnerAgreement) throws {
        if try store.partner(agreement.id) != nil {
            throw ClaimGateError(.partnerExists, "Partner \(agreement.id) is already onboarded: use `claimgate partner show \(agreement.id)`.")
        }
        try requireDistinctTrustAnchor(agreement)
    }

    /// Stores a checked agreement as a new partner, recorded as `partner-onboarded` (for an
    /// approved change, naming it and its proposer, with the approval in the same transaction).
    func onboard(_ agreement: PartnerAgreement, source: String, by principal: Principal, approval: Approval? = nil) throws -> Partner {
        let now = clock.now
        let partner = try store.addPartner(agreement, source: source, at: now, event: TransferEvent(
            time: now, actor: principal.actor, action: .partnerOnboarded, outcome: .success,
            partnerID: agreement.id, reason: approval.map { EventReason(.pendingChange, $0.note) }, transport: principal.transport),
            settling: approval?.settlement)
        logger.info("partner onboarded", metadata: ["partner.id": "\(agreement.id)"])
        return partner
    }

    /// A client certificate identifies at most one partner, among those that pull over HTTPS: an
    /// agreement that lists https under delivery.pull may share a trust anchor with another such
    /// partner in force only when both agreements pin their client certificates
    /// (`certificates.tls_client`), so the pins tell the partners apart. Partners that do not
    /// pull over HTTPS may share a CA (it then only verifies their signatures or push servers).
    func requireDistinctTrustAnchor(_ agreement: PartnerAgreement) throws {
        let mine = Set(((try? Certificate.parseAll(pem: agreement.certificates.trustAnchorPEM)) ?? []).map(\.sha256Fingerprint))
        // The operator CA identifies operators only: a partner anchored on it could present an
        // operator's certificate as its own.
        if identity.hasOperatorCA, mine.contains(try identity.operatorCA().sha256Fingerprint) {
            throw ClaimGateError(.invalidAgreement, "certificates.trust_anchor: that is the gateway's operator CA, which identifies operators, never a partner: use the partner's own CA.")
        }
        guard agreement.delivery.pull.contains(.https) else { return }
        for other in try store.partners() where other.id != agreement.id && other.status != .removed
            && other.agreement.delivery.pull.contains(.https) {
            let theirs = ((try? Certificate.parseAll(pem: other.agreement.certificates.trustAnchorPEM)) ?? []).map(\.sha256Fingerprint)
            guard theirs.contains(where: mine.contains) else { continue }
            if agreement.certificates.pinsTLSClient && other.agreement.certificates.pinsTLSClient { continue }
            throw ClaimGateError(.invalidAgreement,
                "certificates.trust_anchor: the same CA is the trust anchor of partner \(other.id), so one client certificate would identify both. Pin each partner's client certificates in certificates.tls_client (in both agreements), or give each partner a CA of its own.")
        }
    }

    /// The partner with this id, or a clear error.
    public func partner(_ raw: String) throws -> Partner {
        // An id onboarded before ids had to start with a letter or digit is still found, so
        // that it can be shown, suspended and removed.
        guard let id = try? PartnerID(stored: raw), let p = try store.partner(id) else {
            throw ClaimGateError(.unknownPartner, "No partner '\(raw.prefix(64))' is onboarded: see `claimgate partner list`.")
        }
        return p
    }
}

import Envelope

extension Gateway {
    /// The partner as `partner list/show --json` prints it.
    public func view(_ p: Partner) -> PartnerView {
        let cert = try? Certificate(pem: p.agreement.certificates.encryptionPEM)
        return PartnerView(p, certificate: cert.map { ($0.subject, $0.sha256Fingerprint, $0.keyKind.description, $0.notAfter) })
    }
}
