import ClaimGateCore
import Foundation
import Store
import Envelope
import HTTPS
import SFTP

extension Gateway {
    /// The pending delivery to create for a bundle sealed into `partner`'s outbox, if the
    /// partner receives pushes.
    func plannedDelivery(for bundleID: BundleID, partner: Partner, at: Date) -> Delivery? {
        if let t = partner.agreement.delivery.pushSFTP {
            return Delivery(bundleID: bundleID, partnerID: partner.id, transport: .sftp,
                            target: "sftp://\(t.user)@\(t.host):\(t.port)\(t.path)", created: at)
        }
        if let t = partner.agreement.delivery.pushHTTPS {
            return Delivery(bundleID: bundleID, partnerID: partner.id, transport: .https, target: t.url, created: at)
        }
        return nil
    }

    /// The delivery of a bundle, if it has one.
    public func delivery(of bundleID: BundleID) throws -> Delivery? {
        try store.deliveries(bundle: bundleID).first
    }

    /// Makes one attempt at a pending delivery and records its outcome.
    /// - Returns: the delivery as it stands after the attempt.
    @discardableResult
    /// - Parameter lease: the `deliveries` lease it runs under (`serve`): checked when the outcome
    ///   is recorded, so a node that lost the job meanwhile records nothing (`LeaseLost`).
    public func attempt(_ d: Delivery, retry: RetryPolicy = RetryPolicy(), lease: JobLease? = nil) throws -> Delivery {
        var d = d
        let now = clock.now
        d.attempts += 1
        d.lastAttemptAt = now
        guard let bundle = try store.bundle(d.bundleID), let partner = try? self.partner(d.partnerID.rawValue) else {
            d.state = .cancelled
            d.lastErrorCode = EventReason.Code.Note.unknownBundleOrPartner.rawValue
            d.lastError = "The bundle or its partner is no longer known to the gateway."
            try store.recordAttempt(d, lease: lease, event: TransferEvent(time: now, actor: .system, action: .delivery, outcome: .failed,
                                                            partnerID: d.partnerID, bundleID: d.bundleID,
                                                            reason: d.lastErrorCode.map { EventReason(EventReason.Code(rawValue: $0) ?? EventReason.Code(.unclassified)) },
                                                            transport: d.transport))
            return d
        }
        // A bundle no longer available is not pushed.
        if case .fails(let r) = BundleAvailable(clock: clock).evaluate(bundle) {
            d.state = .cancelled
            d.lastErrorCode = r.reason.code
            d.lastError = r.message
            try store.recordAttempt(d, lease: lease, event: event(d, bundle, .refused, reason: EventReason(r.reason)))
            return d
        }
        // A suspended partner or an ended agreement gets nothing, not even what was queued before.
        if case .fails(let r) = PartnerPolicy.mayAct(clock: clock).evaluate(partner) {
            d.state = r.reason == .agreementEnded ? .cancelled : .pending
            d.lastErrorCode = r.reason.code
            d.lastError = r.message
            try store.recordAttempt(d, lease: lease, event: event(d, bundle, .refused, reason: EventReason(r.reason)))
            return d
        }
        // Purpose limitation holds for pushes too: a bundle whose purpose or one of whose document
        // types the agreement no longer allows is not pushed.
        if case .fails(let r) = BundleWithinAgreement(partner.agreement.terms).evaluate(bundle) {
            d.state = .cancelled
            d.lastErrorCode = r.reason.code
            d.lastError = r.message
            try store.recordAttempt(d, lease: lease, event: event(d, bundle, .refused, reason: EventReason(r.reason)))
            return d
        }
        // Recorded before anything leaves: if the audit trail cannot be written, nothing is sent
        // (the delivery stays as it was and the error reaches the caller).
        try store.record(event(d, bundle, .started))
        do {
            let bytes = try push(bundle, to: partner, over: d.transport)
            d.state = .delivered
            d.deliveredAt = clock.now
            d.lastErrorCode = nil
            d.lastError = nil
            try store.recordAttempt(d, lease: lease, event: event(d, bundle, .success, bytes: bytes))
            logger.info("bundle delivered", metadata: ["bundle.id": "\(bundle.id.description)", "partner.id": "\(d.partnerID)"])
        } catch let e as PushError {
            d.lastErrorCode = e.code.rawValue
            d.lastError = e.message
            // A wrong host key or server certificate, a refusal, or a different file already
            // there needs an admin, not a retry; everything else is retried.
            if !e.isRetryable || d.attempts >= retry.maxAttempts { d.state = .failed }
            if e.code == .noTarget { d.state = .cancelled }
            try store.recordAttempt(d, lease: lease, event: event(d, bundle, .failed, reason: EventReason(EventReason.Code(e.code))))
            logger.info("delivery failed", metadata: ["bundle.id": "\(bundle.id.description)", "reason": "\(e.code.rawValue)"])
        }
        return d
    }

    /// Asks for a push delivery to be tried again at once (`deliveries retry`): one that
    /// `failed`, or a `pending` one still waiting out its backoff, becomes `pending` and due now
    /// (its backoff starts over), so `serve`'s delivery worker attempts it at its next pass
    /// (within seconds). Its attempts so far and last error are kept until that attempt. Refused
    /// for a delivered or cancelled delivery (`delivery-settled`) and for a bundle no longer
    /// available (recalled, purged, expired). Recorded as `delivery-retried`; a refusal as
    /// `delivery-refused` (or `operator-refused`).
    /// - Parameters:
    ///   - raw: the bundle's id (any spelling).
    ///   - principal: who asks; needs `delivery-retry` on the bundle's partner.
    /// - Returns: the delivery as it now stands.
    @discardableResult
    public func retryDelivery(of raw: String, by principal: Principal) throws -> Delivery {
        try changeDelivery(of: raw, .deliveryRetry, by: principal) { d, b in
            if case .fails(let r) = BundleAvailable(clock: clock).evaluate(b) {
                throw ClaimGateError(.policyRefused, "The delivery of bundle \(b.id.description) cannot be retried: \(r.message)")
            }
            var next = d
            next.state = .pending
            next.lastAttemptAt = nil   // due now: `RetryPolicy.isDue`
            return (next, TransferEvent(time: clock.now, actor: principal.actor, action: .deliveryRetried, outcome: .success,
                                        partnerID: d.partnerID, claimID: b.claimID, bundleID: b.id, purpose: b.purpose,
                                        transport: principal.transport, clientAddress: d.target))
        }
    }

    /// Cancels a `pending` or `failed` push delivery (`deliveries cancel`): it is not attempted
    /// again. The bundle stays in the partner's outbox, for the partner to pull if its agreement
    /// lets it; `bundle recall` withdraws the bundle itself. Refused for a delivered or cancelled
    /// delivery (`delivery-settled`). Recorded as `delivery-cancelled` with the reason
    /// (`operator-note`); a refusal as `delivery-refused` (or `operator-refused`).
    /// - Parameters:
    ///   - raw: the bundle's id (any spelling).
    ///   - reason: why (kept in the audit trail; no personal data).
    ///   - principal: who asks; needs `delivery-cancel` on the bundle's partner.
    /// - Returns: the delivery as it now stands.
    @discardableResult
    public func cancelDelivery(of raw: String, reason: String, by principal: Principal) throws -> Delivery {
        try changeDelivery(of: raw, .deliveryCancel, by: principal) { d, b in
            let words = Self.auditText(reason).trimmingCharacters(in: .whitespaces)
            guard !words.isEmpty else {
                throw ClaimGateError(.invalidArgument, "Say why the delivery is cancelled (--reason; kept in the audit trail, no personal data).")
            }
            var next = d
            next.state = .cancelled
            next.lastErrorCode = "cancelled"
            next.lastError = "Cancelled by an operator: \(words)"
            return (next, TransferEvent(time: clock.now, actor: principal.actor, action: .deliveryCancelled, outcome: .success,
                                        partnerID: d.partnerID, claimID: b.claimID, bundleID: b.id, purpose: b.purpose,
                                        reason: EventReason(.operatorNote, words), transport: principal.transport, clientAddress: d.target))
        }
    }

    /// Authorises `action` on the bundle's partner, finds the bundle's delivery, requires it
    /// `pending` or `failed`, and stores what `change` makes of it with its event. A refusal
    /// after authorisation is recorded as `delivery-refused` (its code, and `action` as subject).
    private func changeDelivery(of raw: String, _ action: OperatorAction, by principal: Principal,
                                _ change: (Delivery, BundleRecord) throws -> (Delivery, TransferEvent)) throws -> Delivery {
        let found = try BundleID(lenient: raw).flatMap { try store.bundle($0) }
        try authorize(action, partner: found?.partnerID, by: principal)
        do {
            guard let b = found else {
                throw ClaimGateError(.unknownBundle, "No bundle '\(EventReason.bounded(String(raw.prefix(64))))': see `claimgate deliveries`.")
            }
            guard let d = try store.deliveries(bundle: b.id).first else {
                throw ClaimGateError(.unknownDelivery, "Bundle \(b.id.description) has no push delivery: partner \(b.partnerID) pulls its bundles (see `claimgate partner show \(b.partnerID)`).")
            }
            let verb = action == .deliveryRetry ? "retried" : "cancelled"
            switch d.state {
            case .delivered:
                throw ClaimGateError(.deliverySettled, "The delivery of bundle \(b.id.description) was delivered on \(d.deliveredAt.map(Timestamp.format) ?? "?"), so it cannot be \(verb): see `claimgate bundle show \(b.id.description)`.")
            case .cancelled:
                throw ClaimGateError(.deliverySettled, "The delivery of bundle \(b.id.description) is cancelled (\(d.lastError ?? "no reason recorded")), so it cannot be \(verb): send the documents again for a new delivery.")
            case .pending, .failed:
                break
            }
            let (next, event) = try change(d, b)
            try store.changeDelivery(next, from: [d.state], event: event)
            logger.info("delivery \(verb)", metadata: ["bundle.id": "\(b.id.description)", "partner.id": "\(d.partnerID)"])
            return next
        } catch let e as ClaimGateError where e.code != .auditUnavailable {
            try store.record(TransferEvent(time: clock.now, actor: principal.actor, action: .deliveryRefused, outcome: .refused,
                                           partnerID: found?.partnerID, bundleID: found?.id,
                                           reason: EventReason(EventReason.Code(e.code), action.rawValue), transport: principal.transport))
            throw e
        }
    }

    /// Attempts every pending delivery that is due now.
    /// - Returns: how many were attempted.
    @discardableResult
    /// - Parameter lease: the `deliveries` lease `serve` holds: before each attempt the pass
    ///   checks that this node still holds it (and stops otherwise), and skips a delivery another
    ///   node attempted since the list was read.
    public func deliverDue(retry: RetryPolicy, lease: JobLease? = nil) throws -> Int {
        let due = try store.deliveries(states: [.pending]).filter { retry.isDue($0, now: clock.now) }
        var current = lease
        for d in due {
            if current != nil {
                // Still this node's job (its keeper renews the lease while pushes run)?
                guard let held = currentLease(.deliveries), held.fence == current?.fence else { break }
                current = held
                // Another node may have attempted it since the list was read.
                guard let now = try store.deliveries(bundle: d.bundleID).first, now.state == .pending,
                      now.attempts == d.attempts, retry.isDue(now, now: clock.now) else { continue }
            }
            try attempt(d, retry: retry, lease: current)
        }
        return due.count
    }

    /// Pushes the bundle file over the delivery's transport, to the target the agreement names now.
    /// - Returns: the bytes sent.
    private func push(_ bundle: BundleRecord, to partner: Partner, over transport: Transport) throws -> Int64 {
        let name = bundle.id.description + ".p7m"
        switch transport {
        case .sftp:
            guard let target = partner.agreement.delivery.pushSFTP else {
                throw PushError(.noTarget, "The agreement no longer has delivery.push.sftp.")
            }
            let client = SFTPPushClient(target: target, clientKeyPath: home.identity + "/" + GatewayIdentity.File.sshClient)
            return try client.push(localPath: bundle.filePath, remoteName: name)
        case .https:
            guard let target = partner.agreement.delivery.pushHTTPS else {
                throw PushError(.noTarget, "The agreement no longer has delivery.push.https.")
            }
            let anchors: [[UInt8]]
            let chain: [[UInt8]]
            let key: [UInt8]
            let digest: String
            do {
                anchors = try Certificate.parseAll(pem: partner.agreement.certificates.trustAnchorPEM).map(\.der)
                chain = [try identity.tls().der, identity.ca.der]
                key = Array(try Data(contentsOf: URL(fileURLWithPath: home.identity + "/" + GatewayIdentity.File.tlsKey)))
                digest = try fileDigest(ofBundle: bundle.id, at: bundle.filePath)
            } catch {
                throw PushError(.transfer, "Cannot prepare the HTTPS push: \(error)")
            }
            let client = HTTPSPushClient(configuration: .init(url: target.url, trustAnchorsDER: anchors,
                                                              clientCertificateChainDER: chain, clientPrivateKeyPEM: key))
            let path = bundle.filePath, id = bundle.id
            return try Blocking.run { try await client.push(localPath: path, bundleID: id, sha256Hex: digest) }
        case .cli, .operatorAPI, .console:
            throw PushError(.noTarget, "Deliveries go over sftp or https.")
        }
    }

    private func event(_ d: Delivery, _ b: BundleRecord, _ outcome: TransferEvent.Outcome, bytes: Int64? = nil,
                       reason: EventReason? = nil) -> TransferEvent {
        TransferEvent(time: clock.now, actor: .system, action: .delivery, outcome: outcome, partnerID: d.partnerID,
                      claimID: b.claimID, bundleID: b.id, purpose: b.purpose, bytes: bytes, reason: reason,
                      transport: d.transport, clientAddress: d.target)
    }
}
