import ClaimGateCore
import Envelope
import Foundation
import Store

/// One thing `claimgate doctor` (and the daily certificate watch in `serve`) found.
public struct DoctorFinding: Sendable, Hashable, Codable {
    public enum Severity: String, Sendable, Hashable, Comparable, Codable, CaseIterable {
        case info, warning, error
        public static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }
        private var rank: Int { switch self { case .info: 0; case .warning: 1; case .error: 2 } }
    }

    /// Stable identifier of the kind of finding, for scripts and alert rules (docs/operations.md).
    public struct Code: Hashable, Sendable, Codable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            try c.encode(name)
        }
        public init(from decoder: any Decoder) throws {
            name = try decoder.singleValueContainer().decode(String.self)
        }

        public static let certificateExpired = Code("certificate-expired")
        public static let certificateExpiring = Code("certificate-expiring")
        public static let certificateNotYetValid = Code("certificate-not-yet-valid")
        public static let certificateUnreadable = Code("certificate-unreadable")
        public static let crlExpired = Code("crl-expired")
        public static let crlExpiring = Code("crl-expiring")
        public static let crlUnreadable = Code("crl-unreadable")
        public static let agreementEnded = Code("agreement-ended")
        public static let agreementEnding = Code("agreement-ending")
        public static let deliveriesFailed = Code("deliveries-failed")
        public static let deliveriesPending = Code("deliveries-pending")
        public static let bundlesUnacknowledged = Code("bundles-unacknowledged")
        public static let identityFileMissing = Code("identity-file-missing")
        public static let keyPermissions = Code("key-permissions")
        public static let identityPermissions = Code("identity-permissions")
        public static let auditKeyMissing = Code("audit-key-missing")
        public static let databasePermissions = Code("database-permissions")
        public static let sftpPullWithoutKeys = Code("sftp-pull-without-keys")
        public static let pushURLNotHTTPS = Code("push-url-not-https")
        public static let noDeliveryRoute = Code("no-delivery-route")
        public static let partnerSuspended = Code("partner-suspended")
    }

    public var severity: Severity
    public var code: Code
    /// The partner id, or the gateway file relative to the home (e.g. `identity/tls.pem`).
    public var subject: String
    /// For certificate findings, which certificate: `ca`, `signing`, `tls`, `encryption`,
    /// `trust-anchor`, `next-encryption` (the `certificate` label of the metric).
    public var certificate: String?
    /// One sentence: what is wrong and what to do next. No key material or personal data.
    public var message: String
    /// Whole days until the certificate, CRL or agreement ends: at least 1 while it has not,
    /// 0 or less once it has (minus the whole days since).
    public var daysLeft: Int?

    public init(_ severity: Severity, _ code: Code, subject: String, certificate: String? = nil, message: String, daysLeft: Int? = nil) {
        self.severity = severity; self.code = code; self.subject = subject
        self.certificate = certificate; self.message = message; self.daysLeft = daysLeft
    }

    enum CodingKeys: String, CodingKey { case severity, code, subject, certificate, message, daysLeft = "days_left" }
}

/// A certificate the gateway depends on, as the watch sees it.
public struct WatchedCertificate: Sendable {
    /// `gateway` or the partner id (the `subject` label of the metric).
    public var owner: String
    /// `ca`, `signing`, `tls`, `encryption`, `trust-anchor` (`trust-anchor-2`… for further anchors)
    /// or `next-encryption`.
    public var name: String
    /// For gateway certificates, the file relative to the home, e.g. `identity/tls.pem`.
    public var file: String?
    /// The certificate, or why it cannot be read.
    public var certificate: Result<Certificate, ClaimGateError>

    /// What a finding about this certificate names as its subject: the gateway file or the partner id.
    public var subject: String { file ?? owner }
}

/// What `claimgate doctor` reports: certificates and agreements ending within `withinDays`,
/// partners with undelivered or unacknowledged bundles, and configuration problems.
public struct DoctorReport: Sendable, Codable {
    public struct CertificateStatus: Sendable, Codable {
        public var subject: String
        public var certificate: String
        public var notAfter: Date
        public var daysLeft: Int
        enum CodingKeys: String, CodingKey { case subject, certificate, notAfter = "not_after", daysLeft = "days_left" }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(subject, forKey: .subject)
            try c.encode(certificate, forKey: .certificate)
            try c.encode(Timestamp.format(notAfter), forKey: .notAfter)
            try c.encode(daysLeft, forKey: .daysLeft)
        }
    }

    /// A singleton job's lease as recorded: which node runs the job, until when.
    public struct LeaseStatus: Sendable, Codable, Equatable {
        public var job: String
        public var holder: String
        public var fence: Int64
        public var expires: String
        /// Whether the lease had run out when checked (no node runs the job until one takes it).
        public var lapsed: Bool
        public init(job: String, holder: String, fence: Int64, expires: String, lapsed: Bool) {
            self.job = job; self.holder = holder; self.fence = fence; self.expires = expires; self.lapsed = lapsed
        }
    }

    public var checkedAt: Date
    public var withinDays: Int
    /// The database: backend, where, schema version, replicas' lag.
    public var database: DatabaseStatus? = nil
    /// The singleton jobs' leases (none until `serve` has run).
    public var leases: [LeaseStatus] = []
    /// Most severe first, then by subject and code.
    public var findings: [DoctorFinding]
    /// Every readable certificate checked, whether or not it is ending.
    public var certificates: [CertificateStatus]

    /// The most severe finding's severity, nil when there are none.
    public var worst: DoctorFinding.Severity? { findings.map(\.severity).max() }

    /// 0 when nothing is at warning or above, 1 for warnings only, 2 when there are errors.
    public var exitStatus: Int32 {
        switch worst {
        case .error: 2
        case .warning: 1
        case .info, nil: 0
        }
    }

    /// The findings at `severity` or above.
    public func findings(atLeast severity: DoctorFinding.Severity) -> [DoctorFinding] {
        findings.filter { $0.severity >= severity }
    }

    enum CodingKeys: String, CodingKey {
        case checkedAt = "checked_at", withinDays = "within_days", status, exitStatus = "exit_status", findings, certificates,
             database, leases
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Timestamp.format(checkedAt), forKey: .checkedAt)
        try c.encode(withinDays, forKey: .withinDays)
        try c.encode(worst.map(\.rawValue) ?? "ok", forKey: .status)
        try c.encode(exitStatus, forKey: .exitStatus)
        try c.encode(findings, forKey: .findings)
        try c.encode(certificates, forKey: .certificates)
        try c.encodeIfPresent(database, forKey: .database)
        try c.encode(leases, forKey: .leases)
    }
}

/// Whole days from `now` to `end`: rounded up while `end` is ahead (9.9 days away is 10 days
/// left, so anything still valid has at least 1), and once it has passed minus the whole days
/// since (0 during the first day, -1 during the second…). 0 or less means it has ended.
func daysLeft(until end: Date, now: Date) -> Int {
    let days = end.timeIntervalSince(now) / 86_400
    return Int(days > 0 ? days.rounded(.up) : days.rounded(.towardZero))
}

extension Gateway {
    /// Certificates and agreements with this many days or fewer left are errors, not warnings.
    public static let doctorUrgentDays = 7

    /// Every certificate the gateway depends on: its own CA, signing, TLS and encryption
    /// certificates, and each partner's (not removed) encryption certificate (the one in force
    /// at `clock.now`), next encryption certificate (while a rotation is still to come) and trust anchors.
    public func watchedCertificates() throws -> [WatchedCertificate] {
        func file(_ name: String, _ file: String) -> WatchedCertificate {
            let path = home.identity + "/" + file
            let result: Result<Certificate, ClaimGateError>
            do {
                result = .success(try Certificate(pem: FileSystem.read(path, what: "the gateway certificate \(file)")))
            } catch let e as ClaimGateError {
                result = .failure(e)
            } catch let e as EnvelopeError {
                result = .failure(ClaimGateError(.io, "\(file): \(e.message)"))
            } catch {
                result = .failure(ClaimGateError(.io, "\(file): \(error)"))
            }
            return WatchedCertificate(owner: "gateway", name: name, file: "identity/" + file, certificate: result)
        }
        typealias F = GatewayIdentity.File
        var out = [file("ca", F.ca), file("signing", F.signing), file("tls", F.tls), file("encryption", F.encryption)]
        if identity.hasOperatorCA { out.append(file("operator-ca", GatewayIdentity.OperatorCAFile.certificate)) }
        let now = clock.now
        for p in try store.partners() where p.status != .removed {
            let c = p.agreement.certificates
            let owner = p.id.rawValue
            func parse(_ name: String, _ pem: String) -> WatchedCertificate {
                do { return WatchedCertificate(owner: owner, name: name, certificate: .success(try Certificate(pem: pem))) } catch {
                    return WatchedCertificate(owner: owner, name: name, certificate: .failure(
                        ClaimGateError(.invalidAgreement, "the stored \(name) certificate cannot be read")))
                }
            }
            // A rotation whose day has begun is in force: the next certificate is the encryption certificate.
            if let next = c.nextEncryptionPEM, let from = c.nextEncryptionFrom {
                if now >= from.startOfDay {
                    out.append(parse("encryption", next))
                } else {
                    out.append(parse("encryption", c.encryptionPEM))
                    out.append(parse("next-encryption", next))
                }
            } else {
                out.append(parse("encryption", c.encryptionPEM))
            }
            do {
                for (i, a) in try Certificate.parseAll(pem: c.trustAnchorPEM).enumerated() {
                    out.append(WatchedCertificate(owner: owner, name: i == 0 ? "trust-anchor" : "trust-anchor-\(i + 1)", certificate: .success(a)))
                }
            } catch {
                out.append(WatchedCertificate(owner: owner, name: "trust-anchor", certificate: .failure(
                    ClaimGateError(.invalidAgreement, "the stored trust anchor cannot be read"))))
            }
        }
        return out
    }

    /// Checks the gateway's health: certificates (gateway and partners) and agreements that end
    /// within `withinDays` or have ended, partners with failed or waiting pushes and bundles
    /// never acknowledged, and configuration problems (key file permissions, missing identity
    /// files, agreements that cannot work). Reads only; records nothing.
    /// - Parameters:
    ///   - withinDays: how far ahead to look for certificates and agreements ending.
    ///   - principal: who asks (`doctor`); `serve`'s certificate watch asks as `.system`.
    /// - Returns: the findings, most severe first, at `clock.now`.
    public func doctor(withinDays: Int = 30, by principal: Principal) throws -> DoctorReport {
        try authorize(.doctor, by: principal)
        return try doctor(withinDays: withinDays)
    }

    func doctor(withinDays: Int = 30) throws -> DoctorReport {
        let now = clock.now
        var findings: [DoctorFinding] = []
        var statuses: [DoctorReport.CertificateStatus] = []
        let partners = try store.partners().filter { $0.status != .removed }

        // Certificates. A partner's encryption certificate that ends after a scheduled rotation
        // to a next certificate has begun needs nothing more: that is info only.
        let watched = try watchedCertificates()
        var rotations: [String: CalendarDay] = [:]
        for p in partners {
            let c = p.agreement.certificates
            if let from = c.nextEncryptionFrom, now < from.startOfDay,
               watched.contains(where: { $0.owner == p.id.rawValue && $0.name == "next-encryption" && (try? $0.certificate.get()) != nil }) {
                rotations[p.id.rawValue] = from
            }
        }
        for w in watched {
            let cert: Certificate
            switch w.certificate {
            case .failure(let e):
                findings.append(DoctorFinding(.error, .certificateUnreadable, subject: w.subject, certificate: w.name,
                                              message: Self.unreadableMessage(w, e)))
                continue
            case .success(let c): cert = c
            }
            let left = daysLeft(until: cert.notAfter, now: now)
            statuses.append(.init(subject: w.owner, certificate: w.name, notAfter: cert.notAfter, daysLeft: left))
            if now < cert.notBefore, w.name != "next-encryption" {
                findings.append(DoctorFinding(.error, .certificateNotYetValid, subject: w.subject, certificate: w.name,
                    message: "\(Self.describe(w)) is not valid before \(Timestamp.format(cert.notBefore)): check this host's clock, or \(Self.renewal(w))."))
            } else if left <= 0 {
                findings.append(DoctorFinding(.error, .certificateExpired, subject: w.subject, certificate: w.name,
                    message: "\(Self.describe(w)) expired on \(Timestamp.format(cert.notAfter)): \(Self.renewal(w)).", daysLeft: left))
            } else if left <= withinDays, w.name == "encryption", let from = rotations[w.owner], from.startOfDay <= cert.notAfter {
                findings.append(DoctorFinding(.info, .certificateExpiring, subject: w.subject, certificate: w.name,
                    message: "\(Self.describe(w)) expires on \(Timestamp.format(cert.notAfter)) (\(Self.days(left)) left): nothing to do, new bundles use the next certificate from \(from).",
                    daysLeft: left))
            } else if left <= withinDays {
                findings.append(DoctorFinding(left <= Self.doctorUrgentDays ? .error : .warning, .certificateExpiring,
                    subject: w.subject, certificate: w.name,
                    message: "\(Self.describe(w)) expires on \(Timestamp.format(cert.notAfter)) (\(Self.days(left)) left): \(Self.renewal(w)).",
                    daysLeft: left))
            }
        }

        // Operators' client certificates (of operators not removed): the store keeps their end.
        for o in try store.operators() where o.state != .removed {
            let subject = "operator:\(o.id)"
            let left = daysLeft(until: o.certificate.notAfter, now: now)
            statuses.append(.init(subject: subject, certificate: "operator", notAfter: o.certificate.notAfter, daysLeft: left))
            let renew = "add the person again as a new operator (`claimgate operator add`) and remove \(o.id) (`claimgate operator remove \(o.id)`)"
            if left <= 0 {
                findings.append(DoctorFinding(.error, .certificateExpired, subject: subject, certificate: "operator",
                    message: "Operator \(o.id)'s certificate expired on \(Timestamp.format(o.certificate.notAfter)), so it can no longer act: \(renew).", daysLeft: left))
            } else if left <= withinDays {
                findings.append(DoctorFinding(left <= Self.doctorUrgentDays ? .error : .warning, .certificateExpiring, subject: subject,
                    certificate: "operator",
                    message: "Operator \(o.id)'s certificate expires on \(Timestamp.format(o.certificate.notAfter)) (\(Self.days(left)) left): \(renew) before then.",
                    daysLeft: left))
            }
        }

        // Agreements and partner configuration.
        for p in partners {
            let id = p.id.rawValue, a = p.agreement
            let left = daysLeft(until: a.terms.endsAt, now: now)
            if left <= 0 {
                findings.append(DoctorFinding(.error, .agreementEnded, subject: id,
                    message: "The agreement \(a.terms.reference) with \(id) ended at the end of \(a.terms.validUntil): onboard the renewed agreement with `claimgate partner update FILE`, or `claimgate partner remove \(id)`.",
                    daysLeft: left))
            } else if left <= withinDays {
                findings.append(DoctorFinding(left <= Self.doctorUrgentDays ? .error : .warning, .agreementEnding, subject: id,
                    message: "The agreement \(a.terms.reference) with \(id) ends at the end of \(a.terms.validUntil) (\(Self.days(left)) left): onboard the renewed agreement with `claimgate partner update FILE` before then.",
                    daysLeft: left))
            }
            if let pem = a.certificates.crlPEM {
                findings += Self.crlFindings(pem, partner: id, now: now, withinDays: withinDays)
            }
            if p.status == .suspended {
                findings.append(DoctorFinding(.info, .partnerSuspended, subject: id,
                    message: "\(id) is suspended and receives nothing: `claimgate partner resume \(id)` when it may exchange again."))
            }
            if a.delivery.pull.contains(.sftp), a.sshAuthorizedKeys.isEmpty {
                findings.append(DoctorFinding(.error, .sftpPullWithoutKeys, subject: id,
                    message: "The agreement with \(id) lists `pull: [sftp]` but no SSH key, so the partner cannot log in: add its key under ssh.authorized_keys and run `claimgate partner update FILE`."))
            }
            if let push = a.delivery.pushHTTPS, URL(string: push.url)?.scheme?.lowercased() != "https" {
                findings.append(DoctorFinding(.error, .pushURLNotHTTPS, subject: id,
                    message: "The HTTPS push target of \(id) is not an https:// URL, so pushes would not be protected: correct delivery.push.https.url and run `claimgate partner update FILE`."))
            }
            if a.delivery.pull.isEmpty, a.delivery.pushSFTP == nil, a.delivery.pushHTTPS == nil {
                findings.append(DoctorFinding(.info, .noDeliveryRoute, subject: id,
                    message: "The agreement with \(id) has no pull transport and no push target, so bundles reach it only as files from `claimgate seal --out`: add delivery.pull or delivery.push if it should fetch or receive them."))
            }
        }

        // Pushes that failed or wait, and bundles never acknowledged (only those still available,
        // of partners not removed).
        let watchedPartners = Set(partners.map(\.id))
        let bundles = Dictionary(try store.bundles().filter { watchedPartners.contains($0.partnerID) }.map { ($0.id, $0) },
                                 uniquingKeysWith: { a, _ in a })
        func available(_ id: BundleID) -> Bool {
            guard let b = bundles[id] else { return false }
            return b.expires > now && ![.expired, .recalled, .purged, .acknowledged].contains(b.state)
        }
        let undelivered = try store.deliveries(states: [.pending, .failed]).filter { available($0.bundleID) }
        for (partner, list) in Dictionary(grouping: undelivered, by: \.partnerID).sorted(by: { $0.key < $1.key }) {
            let id = partner.rawValue
            let failed = list.filter { $0.state == .failed }
            if !failed.isEmpty {
                let last = failed.max { ($0.lastAttemptAt ?? $0.created) < ($1.lastAttemptAt ?? $1.created) }?.lastErrorCode ?? "unknown"
                findings.append(DoctorFinding(.error, .deliveriesFailed, subject: id,
                    message: "\(Self.count(failed.count, "push", "pushes")) to \(id) failed for good (last error \(last)): see `claimgate deliveries --state failed`, fix the cause, then send the bundles again."))
            }
            let pending = list.filter { $0.state == .pending }
            if !pending.isEmpty {
                let retrying = pending.filter { $0.attempts > 0 }.count
                let oldest = pending.map(\.created).min()!
                let stuck = retrying > 0 || now.timeIntervalSince(oldest) > 3_600
                findings.append(DoctorFinding(stuck ? .warning : .info, .deliveriesPending, subject: id,
                    message: "\(Self.count(pending.count, "push", "pushes")) to \(id) \(pending.count == 1 ? "waits" : "wait")"
                        + (retrying > 0 ? " (\(retrying) after failed attempts)" : "")
                        + ", the oldest queued \(Self.age(since: oldest, now: now)): check that `claimgate serve` runs and see `claimgate deliveries --state pending` for the last error."))
            }
        }
        let unacknowledged = bundles.values.filter { [.delivered, .downloaded].contains($0.state) && $0.expires > now }
        for (partner, list) in Dictionary(grouping: unacknowledged, by: \.partnerID).sorted(by: { $0.key < $1.key }) {
            let id = partner.rawValue
            let oldest = list.map(\.created).min()!
            findings.append(DoctorFinding(now.timeIntervalSince(oldest) > 86_400 ? .warning : .info, .bundlesUnacknowledged, subject: id,
                message: "\(Self.count(list.count, "bundle", "bundles")) delivered to or downloaded by \(id) \(list.count == 1 ? "is" : "are") not acknowledged, the oldest sealed \(Self.age(since: oldest, now: now)): ask the partner to send receipts (`claimgate bundle list --partner \(id)` lists them)."))
        }

        findings += identityFindings()
        findings += databaseFindings()
        findings.sort { a, b in
            if a.severity != b.severity { return a.severity > b.severity }
            if a.subject != b.subject { return a.subject < b.subject }
            if a.code.name != b.code.name { return a.code.name < b.code.name }
            return (a.certificate ?? "") < (b.certificate ?? "")
        }
        var report = DoctorReport(checkedAt: now, withinDays: withinDays, findings: findings, certificates: statuses)
        report.database = try store.databaseStatus()
        report.leases = try store.leases().map {
            .init(job: $0.job, holder: $0.holder, fence: $0.fence, expires: Timestamp.format($0.expires), lapsed: $0.expires <= now)
        }
        return report
    }

    /// Identity folder checks: private keys readable only by the owner, no key missing, the audit key present.
    func identityFindings() -> [DoctorFinding] {
        typealias F = GatewayIdentity.File
        var out: [DoctorFinding] = []
        let dir = home.identity
        func mode(_ name: String) -> mode_t? {
            var st = stat()
            return stat(dir + "/" + name, &st) == 0 ? st.st_mode & 0o777 : nil
        }
        func octal(_ m: mode_t) -> String { "0" + String(m, radix: 8) }
        if let m = mode(""), m & 0o077 != 0 {
            out.append(DoctorFinding(.warning, .identityPermissions, subject: "identity/",
                message: "The identity folder is open to other users (mode \(octal(m))): run `chmod 700 \(dir)`."))
        }
        // ca.key is absent when the CA was imported without its key; the audit key has its own check.
        let required = [F.signingKey, F.tlsKey, F.encryptionKey, F.sshHost, F.sshClient]
        for name in [F.caKey] + required + [F.auditKey] {
            guard let m = mode(name) else {
                if required.contains(name) {
                    out.append(DoctorFinding(.error, .identityFileMissing, subject: "identity/" + name,
                        message: "The private key identity/\(name) is missing: restore it from a backup (with its certificate), or `claimgate serve` cannot run."))
                }
                continue
            }
            if m & 0o077 != 0 {
                out.append(DoctorFinding(.error, .keyPermissions, subject: "identity/" + name,
                    message: "The private key identity/\(name) is readable by other users (mode \(octal(m))): run `chmod 600 \(dir)/\(name)`, and replace the key if others may have read it."))
            }
        }
        if mode(F.auditKey) == nil {
            out.append(DoctorFinding(.warning, .auditKeyMissing, subject: "identity/" + F.auditKey,
                message: "The audit checkpoint key identity/\(F.auditKey) is missing: the next command that writes the audit trail creates a new one; restore the old key from a backup if you have it, and give auditors the new public key (`claimgate identity --audit-pem`)."))
        }
        return out
    }

    /// The database and its write-ahead log hold the audit trail, claim ids and partner
    /// addresses: they must be the owner's only (0600, as ClaimGate creates them).
    func databaseFindings() -> [DoctorFinding] {
        let wide: [(path: String, mode: mode_t)] = ["", "-wal", "-shm"].compactMap { suffix in
            var st = stat()
            let path = home.database + suffix
            guard stat(path, &st) == 0, st.st_mode & 0o077 != 0 else { return nil }
            return (path, st.st_mode & 0o777)
        }
        guard let first = wide.first else { return [] }
        let names = wide.map { ($0.path as NSString).lastPathComponent }.joined(separator: ", ")
        return [DoctorFinding(.warning, .databasePermissions, subject: "claimgate.sqlite",
            message: "The gateway database \(names) is open to other users (mode 0\(String(first.mode, radix: 8))), and it holds the audit trail, claim ids and partner addresses: run `chmod 600 \(wide.map(\.path).joined(separator: " "))`.")]
    }

    /// A CRL past its nextUpdate makes the partner's client and signer certificates refused.
    static func crlFindings(_ pem: String, partner id: String, now: Date, withinDays: Int) -> [DoctorFinding] {
        let crls: [CertificateRevocationList]
        do { crls = try CertificateRevocationList.parseAll(pem: pem) } catch {
            return [DoctorFinding(.error, .crlUnreadable, subject: id, certificate: "crl",
                message: "The stored revocation list of \(id) cannot be read: onboard the agreement again with `claimgate partner update FILE`.")]
        }
        var out: [DoctorFinding] = []
        let renew = "fetch the partner's current CRL and onboard it with `claimgate partner update FILE`"
        for crl in crls {
            guard let next = crl.nextUpdate else { continue }
            let left = daysLeft(until: next, now: now)
            if left <= 0 {
                out.append(DoctorFinding(.error, .crlExpired, subject: id, certificate: "crl",
                    message: "The revocation list of \(id) (\(crl.issuer)) was due for renewal on \(Timestamp.format(next)), so its client and signer certificates are refused: \(renew).",
                    daysLeft: left))
            } else if left <= withinDays {
                out.append(DoctorFinding(left <= doctorUrgentDays ? .error : .warning, .crlExpiring, subject: id, certificate: "crl",
                    message: "The revocation list of \(id) (\(crl.issuer)) is due for renewal on \(Timestamp.format(next)) (\(days(left)) left), after which its client and signer certificates are refused: \(renew).",
                    daysLeft: left))
            }
        }
        return out
    }

    static func describe(_ w: WatchedCertificate) -> String {
        switch (w.owner, w.name) {
        case ("gateway", "ca"): "The gateway CA certificate"
        case ("gateway", "signing"): "The gateway signing certificate"
        case ("gateway", "tls"): "The gateway TLS certificate"
        case ("gateway", "encryption"): "The gateway encryption certificate"
        case ("gateway", "operator-ca"): "The gateway's operator CA certificate"
        case (_, "encryption"): "The encryption certificate of \(w.owner)"
        case (_, "next-encryption"): "The next encryption certificate of \(w.owner)"
        default: "The trust anchor (CA certificate) of \(w.owner)"
        }
    }

    static func renewal(_ w: WatchedCertificate) -> String {
        switch (w.owner, w.name) {
        case ("gateway", "ca"):
            "renew the gateway CA, reissue the certificates it signed and give partners the new trust PEM (`claimgate identity --pem`)"
        case ("gateway", "signing"):
            "replace identity/signing.pem and signing.key with a renewed certificate and give partners the new trust PEM (`claimgate identity --pem`)"
        case ("gateway", "tls"):
            "replace identity/tls.pem and tls.key with a renewed certificate, then restart `claimgate serve`"
        case ("gateway", "operator-ca"):
            "issue a new operator CA (move identity/operator-ca.pem and operator-ca.key away; the next `claimgate operator add` creates one) and add the operators again"
        case ("gateway", "encryption"):
            "replace identity/encryption.pem and encryption.key with a renewed certificate and give partners the new one (`claimgate identity --encryption-pem`)"
        case (_, "encryption"), (_, "next-encryption"):
            "ask \(w.owner) for its renewed encryption certificate and schedule it with `claimgate partner rotate \(w.owner) --encryption NEW.pem --from YYYY-MM-DD`"
        default:
            "ask \(w.owner) for its renewed CA certificate and onboard it (`claimgate partner update FILE`)"
        }
    }

    static func unreadableMessage(_ w: WatchedCertificate, _ e: ClaimGateError) -> String {
        if let file = w.file {
            return "\(describe(w)) \(file) cannot be read (\(e.message)): restore it from a backup."
        }
        return "\(describe(w)) cannot be read (\(e.message)): onboard the agreement again with `claimgate partner update FILE`."
    }

    static func days(_ n: Int) -> String { n == 1 ? "1 day" : "\(n) days" }
    static func count(_ n: Int, _ one: String, _ many: String) -> String { "\(n) \(n == 1 ? one : many)" }
    static func age(since: Date, now: Date) -> String {
        let seconds = max(0, now.timeIntervalSince(since))
        if seconds < 3_600 { return "\(Int(seconds / 60)) min ago" }
        if seconds < 86_400 { return "\(Int(seconds / 3_600)) h ago" }
        return "\(days(Int(seconds / 86_400))) ago"
    }
}

// Decoding (a command in remote mode reads the operator API's answer), in extensions so that
// the memberwise initialisers stay.
extension DoctorReport.CertificateStatus {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(subject: try c.decode(String.self, forKey: .subject), certificate: try c.decode(String.self, forKey: .certificate),
                  notAfter: try Timestamp.parseStrict(try c.decode(String.self, forKey: .notAfter)),
                  daysLeft: try c.decode(Int.self, forKey: .daysLeft))
    }
}

extension DoctorReport {
    /// As the operator API answers it (`status` and `exit_status` follow from the findings).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(checkedAt: try Timestamp.parseStrict(try c.decode(String.self, forKey: .checkedAt)),
                  withinDays: try c.decode(Int.self, forKey: .withinDays),
                  findings: try c.decode([DoctorFinding].self, forKey: .findings),
                  certificates: try c.decode([CertificateStatus].self, forKey: .certificates))
        database = try c.decodeIfPresent(DatabaseStatus.self, forKey: .database)
        leases = try c.decodeIfPresent([LeaseStatus].self, forKey: .leases) ?? []
    }
}
