import ClaimGateCore
import Foundation
import SFTP

extension Gateway {
    /// The pending delivery to create for a bundle sealed into `partner`'s outbox, if the
    /// partner receives pushes.
    func plannedDelivery(for bundleID: UUID, partner: Partner, at: Date) -> Delivery? {
        guard let t = partner.agreement.delivery.pushSFTP else { return nil }
        return Delivery(bundleID: bundleID, partnerID: partner.id, transport: .sftp,
                        target: "sftp://\(t.user)@\(t.host):\(t.port)\(t.path)", created: at)
    }

    /// The delivery of a bundle, if it has one.
    public func delivery(of bundleID: UUID) throws -> Delivery? {
        try store.deliveries(bundle: bundleID).first
    }

    /// Makes one attempt at a pending delivery and records its outcome.
    /// - Returns: the delivery as it stands after the attempt.
    @discardableResult
    public func attempt(_ d: Delivery, retry: RetryPolicy = RetryPolicy()) throws -> Delivery {
        var d = d
        let now = clock.now
        d.attempts += 1
        d.lastAttemptAt = now
        guard let bundle = try store.bundle(d.bundleID), let partner = try? self.partner(d.partnerID.rawValue) else {
            d.state = .cancelled
            d.lastErrorCode = "unknown-bundle-or-partner"
            d.lastError = "The bundle or its partner is no longer known to the gateway."
            try store.recordAttempt(d, event: TransferEvent(time: now, actor: .system, action: .delivery, outcome: .failed,
                                                            partnerID: d.partnerID, bundleID: d.bundleID,
                                                            reason: d.lastErrorCode, transport: d.transport))
            return d
        }
        // A bundle no longer available is not pushed.
        if case .fails(let r) = BundleAvailable(clock: clock).evaluate(bundle) {
            d.state = .cancelled
            d.lastErrorCode = r.reason.code
            d.lastError = r.message
            try store.recordAttempt(d, event: event(d, bundle, .refused, reason: r.reason.code))
            return d
        }
        // A suspended partner or an ended agreement gets nothing, not even what was queued before.
        if case .fails(let r) = PartnerPolicy.mayAct(clock: clock).evaluate(partner) {
            d.state = r.reason == .agreementEnded ? .cancelled : .pending
            d.lastErrorCode = r.reason.code
            d.lastError = r.message
            try store.recordAttempt(d, event: event(d, bundle, .refused, reason: r.reason.code))
            return d
        }
        guard let target = partner.agreement.delivery.pushSFTP else {
            d.state = .cancelled
            d.lastErrorCode = "no-push-target"
            d.lastError = "The agreement no longer has delivery.push.sftp."
            try store.recordAttempt(d, event: event(d, bundle, .failed, reason: "no-push-target"))
            return d
        }
        let client = SFTPPushClient(target: target, clientKeyPath: home.identity + "/" + GatewayIdentity.File.sshClient)
        do {
            let bytes = try client.push(localPath: bundle.filePath, remoteName: bundle.id.uuidString.lowercased() + ".p7m")
            d.state = .delivered
            d.deliveredAt = clock.now
            d.lastErrorCode = nil
            d.lastError = nil
            try store.recordAttempt(d, event: event(d, bundle, .success, bytes: bytes))
            logger.info("bundle delivered", metadata: ["bundle.id": "\(bundle.id.uuidString.lowercased())", "partner.id": "\(d.partnerID)"])
        } catch let e as PushError {
            d.lastErrorCode = e.code.rawValue
            d.lastError = e.message
            // A wrong host key or a different file already there needs an admin, not a retry;
            // everything else is retried.
            if e.code == .hostKeyMismatch || e.code == .verification || d.attempts >= retry.maxAttempts { d.state = .failed }
            try store.recordAttempt(d, event: event(d, bundle, .failed, reason: e.code.rawValue))
            logger.info("delivery failed", metadata: ["bundle.id": "\(bundle.id.uuidString.lowercased())", "reason": "\(e.code.rawValue)"])
        }
        return d
    }

    /// Attempts every pending delivery that is due now.
    /// - Returns: how many were attempted.
    @discardableResult
    public func deliverDue(retry: RetryPolicy) throws -> Int {
        let due = try store.deliveries(states: [.pending]).filter { retry.isDue($0, now: clock.now) }
        for d in due { try attempt(d, retry: retry) }
        return due.count
    }

    private func event(_ d: Delivery, _ b: BundleRecord, _ outcome: TransferEvent.Outcome, bytes: Int64? = nil,
                       reason: String? = nil) -> TransferEvent {
        TransferEvent(time: clock.now, actor: .system, action: .delivery, outcome: outcome, partnerID: d.partnerID,
                      claimID: b.claimID, bundleID: b.id, purpose: b.purpose, bytes: bytes, reason: reason,
                      transport: d.transport, clientAddress: d.target)
    }
}
