import ClaimGateApp
import Operations
import ClaimGateCore
import ClaimGateTesting
import Envelope
import Foundation
import Logging
import Synchronization
import Testing

/// `claimgate doctor`, the daily certificate watch in `serve` and the days-to-expiry metrics,
/// with the clock injected.
@Suite struct DoctorTests {
    /// Now, to the second (the partner dev PKI is issued against the real clock).
    static func start() -> Date { Timestamp.wholeSeconds(Date()) }

    /// Agreements in these tests let the partner pull, so no `no-delivery-route` info appears.
    static let pull = "delivery:\n  pull: [sftp]"

    func codes(_ r: DoctorReport, atLeast s: DoctorFinding.Severity = .info) -> [String] {
        r.findings(atLeast: s).map { "\($0.severity.rawValue):\($0.code):\($0.subject)\($0.certificate.map { ":" + $0 } ?? "")" }
    }

    /// Issues a certificate for `partner` from its dev CA, valid from an hour before `from` to `to`.
    func issue(_ f: GatewayFixture, _ partner: String = "acme-assessors", from: Date, to: Date, name: String) throws -> String {
        let key = try PrivateKey.generate(.p256)
        let cert = try CertificateIssuer.issue(CertificateProfile(commonName: name, keyUsage: "critical,keyAgreement",
                                                                  notBefore: from.addingTimeInterval(-3_600), notAfter: to),
                                               for: key, issuer: try f.pki.issuer(partner))
        return try f.dir.write("certs/\(name).pem", cert.pem)
    }

    @Test func aFreshGatewayWithAPartnerHasNothingToReport() throws {
        let clock = ManualClock(Self.start())
        let f = try GatewayFixture(clock: clock)
        try f.gateway.addPartner(agreementFile: try f.agreement(extra: Self.pull), by: .local(uid: 1000, name: "test"))
        let r = try f.gateway.doctor(by: .system)
        #expect(codes(r, atLeast: .warning) == [])
        #expect(r.exitStatus == 0)
        #expect(r.withinDays == 30)
        #expect(r.certificates.map { "\($0.subject):\($0.certificate)" }
                == ["gateway:ca", "gateway:signing", "gateway:tls", "gateway:encryption", "gateway:operator-ca",
                    "acme-assessors:encryption", "acme-assessors:trust-anchor"])
        #expect(r.certificates.first { $0.certificate == "tls" }?.daysLeft == 365)
    }

    @Test func aPartnerCertificateThatExpiresInTenDaysIsAWarning() throws {
        let clock = ManualClock(Self.start())
        let f = try GatewayFixture(clock: clock)
        let cert = try issue(f, from: clock.now, to: clock.now.addingTimeInterval(10 * 86_400), name: "ten-days")
        try f.gateway.addPartner(agreementFile: try f.agreement(encryption: cert, extra: Self.pull), by: .local(uid: 1000, name: "test"))
        clock.now += 60   // 9 days, 23 h 59 min left: still 10 days, rounded up

        let r = try f.gateway.doctor(by: .system)
        let finding = try #require(r.findings.first)
        #expect(codes(r, atLeast: .warning) == ["warning:certificate-expiring:acme-assessors:encryption"])
        #expect(finding.daysLeft == 10)
        #expect(finding.message.contains("The encryption certificate of acme-assessors expires on"))
        #expect(finding.message.contains("(10 days left)"))
        #expect(finding.message.contains("claimgate partner rotate acme-assessors --encryption NEW.pem"))
        #expect(r.exitStatus == 1)
        #expect(codes(try f.gateway.doctor(withinDays: 9, by: .system)) == [], "outside a 9-day window")

        // A week or less is an error; once expired, an error with negative days.
        clock.now += 3 * 86_400
        #expect(codes(try f.gateway.doctor(by: .system), atLeast: .error) == ["error:certificate-expiring:acme-assessors:encryption"])
        #expect(try f.gateway.doctor(by: .system).exitStatus == 2)
        clock.now += 8 * 86_400
        let expired = try #require(try f.gateway.doctor(by: .system).findings.first)
        #expect(expired.code == .certificateExpired)
        #expect(expired.daysLeft == -1, "a day and a minute ago")
        #expect(expired.severity == .error)
    }

    @Test func gatewayCertificatesAreWatchedByFile() throws {
        let clock = ManualClock(Self.start())
        let f = try GatewayFixture(clock: clock)
        let tls = try f.gateway.identity.tls()
        clock.now = tls.notAfter.addingTimeInterval(-25 * 86_400 + 3_600)
        var r = try f.gateway.doctor(by: .system)
        #expect(codes(r) == ["warning:certificate-expiring:identity/tls.pem:tls"])
        #expect(r.findings[0].daysLeft == 25)
        #expect(r.findings[0].message.contains("The gateway TLS certificate expires on"))
        #expect(r.findings[0].message.contains("restart `claimgate serve`"))

        clock.now = tls.notAfter
        r = try f.gateway.doctor(by: .system)
        #expect(codes(r) == ["error:certificate-expired:identity/tls.pem:tls"])
        #expect(r.findings[0].daysLeft == 0)

        try "not a certificate".write(toFile: f.gateway.home.identity + "/encryption.pem", atomically: true, encoding: .utf8)
        r = try f.gateway.doctor(by: .system)
        #expect(codes(r).contains("error:certificate-unreadable:identity/encryption.pem:encryption"))
        #expect(!r.certificates.contains { $0.certificate == "encryption" })
    }

    @Test func agreementsEndingOrEndedAreReported() throws {
        func day(_ d: Date) throws -> CalendarDay { try CalendarDay(parsing: String(Timestamp.format(d).prefix(10))) }
        let noon = try day(Self.start().addingTimeInterval(86_400)).startOfDay.addingTimeInterval(12 * 3_600)
        let clock = ManualClock(noon)
        let f = try GatewayFixture(clock: clock)
        let validUntil = try day(noon.addingTimeInterval(19 * 86_400))
        try f.gateway.addPartner(agreementFile: try f.agreement(validUntil: validUntil.description, extra: Self.pull), by: .local(uid: 1000, name: "test"))
        // The agreement ends at the end of its last day, 19.5 days after noon: 20 days left.
        var r = try f.gateway.doctor(by: .system)
        #expect(codes(r) == ["warning:agreement-ending:acme-assessors"])
        let ending = try #require(r.findings.first)
        #expect(ending.daysLeft == 20)
        #expect(ending.message.contains("DSA-TEST-1"))
        #expect(ending.message.contains("ends at the end of \(validUntil) (20 days left)"))
        #expect(try f.gateway.doctor(withinDays: 19, by: .system).findings.isEmpty)

        clock.now = validUntil.endOfDay
        r = try f.gateway.doctor(by: .system)
        #expect(codes(r) == ["error:agreement-ended:acme-assessors"])
        #expect(r.findings[0].daysLeft == 0)
        #expect(r.exitStatus == 2)
    }

    @Test func failedAndWaitingPushesAndUnacknowledgedBundlesArePerPartner() throws {
        let clock = ManualClock(Self.start())
        let f = try GatewayFixture(clock: clock)
        try f.gateway.addPartner(agreementFile: try f.agreement(extra: Self.pull), by: .local(uid: 1000, name: "test"))
        try f.gateway.addPartner(agreementFile: try f.agreement(id: "st-marys-hospital", extra: Self.pull), by: .local(uid: 1000, name: "test"))
        let store = f.gateway.store
        let acme = try PartnerID("acme-assessors"), stm = try PartnerID("st-marys-hospital")
        func bundle(_ partner: PartnerID, _ state: BundleState, age: TimeInterval, expiresIn: TimeInterval = 7 * 86_400,
                    delivery: Bool = false) throws -> BundleID {
            let id = BundleID.random(), created = clock.now.addingTimeInterval(-age)
            let record = BundleRecord(id: id, partnerID: partner, claimID: "CLM-1", purpose: "claim-assessment", state: state,
                                      created: created, expires: clock.now.addingTimeInterval(expiresIn), manifestJSON: Data("{}".utf8),
                                      manifestSHA256: String(repeating: "0", count: 64), filePath: "/nonexistent/\(id).p7m",
                                      fileSize: 1, agreementVersion: 1)
            try store.insertBundle(record, delivery: delivery ? Delivery(bundleID: id, partnerID: partner, transport: .sftp,
                                                                          target: "sftp://gw@push.example:22/in", created: created) : nil,
                                   event: TransferEvent(time: created, actor: .system, action: .queue, outcome: .success,
                                                        partnerID: partner, bundleID: id, transport: .cli))
            return id
        }
        func attempt(_ bundle: BundleID, _ state: DeliveryState, code: String) throws {
            var d = try #require(try store.deliveries(bundle: bundle).first)
            d.state = state; d.attempts += 1; d.lastAttemptAt = clock.now; d.lastErrorCode = code; d.lastError = "failed"
            try store.recordAttempt(d, event: TransferEvent(time: clock.now, actor: .system, action: .delivery, outcome: .failed,
                                                            partnerID: d.partnerID, bundleID: bundle, reason: EventReason.Code(rawValue: code).map { EventReason($0) }, transport: .sftp))
        }

        // A fresh push is info; a failed one an error; a retrying one a warning.
        _ = try bundle(stm, .queued, age: 60, delivery: true)
        #expect(codes(try f.gateway.doctor(by: .system)) == ["info:deliveries-pending:st-marys-hospital"])
        try attempt(try bundle(acme, .queued, age: 600, delivery: true), .failed, code: "host-key-mismatch")
        try attempt(try bundle(acme, .queued, age: 600, delivery: true), .pending, code: "connect-failed")
        // Expired bundles need nothing more.
        try attempt(try bundle(acme, .queued, age: 9 * 86_400, expiresIn: -86_400, delivery: true), .failed, code: "connect-failed")
        var r = try f.gateway.doctor(by: .system)
        #expect(codes(r) == ["error:deliveries-failed:acme-assessors", "warning:deliveries-pending:acme-assessors",
                             "info:deliveries-pending:st-marys-hospital"])
        #expect(r.findings[0].message.hasPrefix("1 push to acme-assessors failed for good (last error host-key-mismatch)"))
        #expect(r.findings[1].message.contains("(1 after failed attempts)"))

        // Delivered or downloaded and never acknowledged: a warning after a day.
        for id in try store.deliveries().map(\.bundleID) {
            try store.updateBundleState(id, to: .acknowledged, from: [.queued], event: TransferEvent(
                time: clock.now, actor: .system, action: .receipt, outcome: .success, bundleID: id, transport: .cli))
        }
        _ = try bundle(acme, .delivered, age: 2 * 86_400)
        _ = try bundle(acme, .downloaded, age: 3 * 86_400)
        _ = try bundle(acme, .downloaded, age: 30 * 86_400, expiresIn: -1)
        _ = try bundle(stm, .downloaded, age: 3_600)
        _ = try bundle(stm, .acknowledged, age: 3 * 86_400)
        r = try f.gateway.doctor(by: .system)
        #expect(codes(r) == ["warning:bundles-unacknowledged:acme-assessors", "info:bundles-unacknowledged:st-marys-hospital"])
        #expect(r.findings[0].message.hasPrefix("2 bundles delivered to or downloaded by acme-assessors are not acknowledged, the oldest sealed 3 days ago"))
    }

    @Test func identityPermissionsAndMissingFilesAreConfigurationProblems() throws {
        let f = try GatewayFixture(clock: ManualClock(Self.start()))
        let identity = f.gateway.home.identity
        #expect(chmod(identity + "/tls.key", 0o640) == 0)
        #expect(chmod(identity, 0o755) == 0)
        try FileManager.default.removeItem(atPath: identity + "/ssh_client_ed25519")
        try FileManager.default.removeItem(atPath: identity + "/audit.key")
        let r = try f.gateway.doctor(by: .system)
        #expect(codes(r) == ["error:identity-file-missing:identity/ssh_client_ed25519", "error:key-permissions:identity/tls.key",
                             "warning:identity-permissions:identity/", "warning:audit-key-missing:identity/audit.key"])
        #expect(r.findings[1].message.contains("mode 0640"))
        #expect(r.findings[1].message.contains("chmod 600 \(identity)/tls.key"))
        #expect(r.exitStatus == 2)
    }

    @Test func agreementsThatCannotWorkAreConfigurationProblems() throws {
        let f = try GatewayFixture(clock: ManualClock(Self.start()))
        // Stored without the loader's checks, as an older version might have been.
        let loaded = try AgreementLoader.load(path: try f.agreement(sshKeys: "[]"), clock: f.gateway.clock)
        var agreement = loaded.0
        let source = loaded.1
        agreement.delivery = DeliveryTerms(pushHTTPS: HTTPSPushTarget(url: "http://push.acme.example/bundles"), pull: [.sftp])
        _ = try f.gateway.store.addPartner(agreement, source: source, at: f.gateway.clock.now, event: TransferEvent(
            time: f.gateway.clock.now, actor: .admin("test"), action: .partnerOnboarded, outcome: .success,
            partnerID: agreement.id, transport: .cli))
        try f.gateway.addPartner(agreementFile: try f.agreement(id: "st-marys-hospital"), by: .local(uid: 1000, name: "test"))
        try f.gateway.suspendPartner("st-marys-hospital", reason: nil, by: .local(uid: 1000, name: "test"))
        let r = try f.gateway.doctor(by: .system)
        #expect(codes(r) == ["error:push-url-not-https:acme-assessors", "error:sftp-pull-without-keys:acme-assessors",
                             "info:no-delivery-route:st-marys-hospital", "info:partner-suspended:st-marys-hospital"])
        #expect(r.exitStatus == 2)

        // A removed partner is not watched.
        try f.gateway.removePartner("st-marys-hospital", force: true, reason: nil, by: .local(uid: 1000, name: "test"))
        #expect(!codes(try f.gateway.doctor(by: .system)).contains { $0.contains("st-marys-hospital") })
        #expect(!(try f.gateway.watchedCertificates()).contains { $0.owner == "st-marys-hospital" })
    }

    @Test func aScheduledRotationIsWatchedAndCoversTheOldCertificate() throws {
        let clock = ManualClock(Self.start())
        let f = try GatewayFixture(clock: clock)
        let old = try issue(f, from: clock.now, to: clock.now.addingTimeInterval(10 * 86_400), name: "old")
        let new = try issue(f, from: clock.now, to: clock.now.addingTimeInterval(400 * 86_400), name: "new")
        let loaded = try AgreementLoader.load(path: try f.agreement(encryption: old, extra: Self.pull), clock: clock)
        var agreement = loaded.0
        let source = loaded.1
        let from = try CalendarDay(parsing: String(Timestamp.format(clock.now.addingTimeInterval(5 * 86_400)).prefix(10)))
        agreement.certificates.nextEncryptionPEM = try String(contentsOfFile: new, encoding: .utf8)
        agreement.certificates.nextEncryptionFrom = from
        _ = try f.gateway.store.addPartner(agreement, source: source, at: clock.now, event: TransferEvent(
            time: clock.now, actor: .admin("test"), action: .partnerOnboarded, outcome: .success, partnerID: agreement.id, transport: .cli))

        var r = try f.gateway.doctor(by: .system)
        #expect(codes(r) == ["info:certificate-expiring:acme-assessors:encryption"])
        #expect(r.findings[0].message.contains("new bundles use the next certificate from \(from)"))
        #expect(r.exitStatus == 0)
        #expect(r.certificates.filter { $0.subject == "acme-assessors" }.map(\.certificate) == ["encryption", "next-encryption", "trust-anchor"])
        #expect(try f.gateway.prometheusMetrics().contains("claimgate_certificate_days_to_expiry{subject=\"acme-assessors\",certificate=\"next-encryption\"} 400.0"))

        // From its day on, the next certificate is the encryption certificate.
        clock.now = from.startOfDay
        r = try f.gateway.doctor(by: .system)
        #expect(codes(r) == [])
        #expect(r.certificates.filter { $0.subject == "acme-assessors" }.map(\.certificate) == ["encryption", "trust-anchor"])
        #expect(r.certificates.first { $0.subject == "acme-assessors" }?.notAfter == (try Certificate.load(pemFile: new)[0].notAfter))
    }

    @Test func aRevocationListDueForRenewalIsReported() throws {
        let clock = ManualClock(Self.start())
        let f = try GatewayFixture(clock: clock)
        let work = f.dir.path + "/crl"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try "".write(toFile: work + "/index.txt", atomically: true, encoding: .utf8)
        try "01\n".write(toFile: work + "/crlnumber", atomically: true, encoding: .utf8)
        try "[ca]\ndefault_ca = d\n[d]\ndatabase = \(work)/index.txt\ncrlnumber = \(work)/crlnumber\ndefault_md = sha256\n"
            .write(toFile: work + "/ca.cnf", atomically: true, encoding: .utf8)
        let made = try Shell.run(["openssl", "ca", "-config", work + "/ca.cnf", "-gencrl", "-crldays", "3",
                                  "-cert", f.pki.partner("acme-assessors", "ca.pem"), "-keyfile", f.pki.partner("acme-assessors", "ca.key"),
                                  "-out", work + "/crl.pem"])
        try #require(made.succeeded, "\(made.stderr)")
        clock.now = Date().addingTimeInterval(1)   // just after openssl stamped the CRL
        let loaded = try AgreementLoader.load(path: try f.agreement(extra: Self.pull), clock: clock)
        var agreement = loaded.0
        let source = loaded.1
        agreement.certificates.crlPEM = try String(contentsOfFile: work + "/crl.pem", encoding: .utf8)
        _ = try f.gateway.store.addPartner(agreement, source: source, at: clock.now, event: TransferEvent(
            time: clock.now, actor: .admin("test"), action: .partnerOnboarded, outcome: .success, partnerID: agreement.id, transport: .cli))

        var r = try f.gateway.doctor(by: .system)
        #expect(codes(r) == ["error:crl-expiring:acme-assessors:crl"])
        #expect(r.findings[0].daysLeft == 3)
        #expect(r.findings[0].message.contains("claimgate partner update"))
        clock.now += 4 * 86_400
        r = try f.gateway.doctor(by: .system)
        #expect(codes(r) == ["error:crl-expired:acme-assessors:crl"])
    }

    @Test func metricsExportDaysToExpiryBySubjectAndCertificate() throws {
        let clock = ManualClock(Self.start())
        let f = try GatewayFixture(clock: clock)
        try f.gateway.addPartner(agreementFile: try f.agreement(validUntil: "2099-12-31", extra: Self.pull), by: .local(uid: 1000, name: "test"))
        let tls = try f.gateway.identity.tls()
        clock.now = tls.notAfter.addingTimeInterval(-10 * 86_400)
        let metrics = try f.gateway.prometheusMetrics()
        #expect(metrics.contains("# TYPE claimgate_certificate_days_to_expiry gauge"))
        #expect(metrics.contains("claimgate_certificate_days_to_expiry{subject=\"gateway\",certificate=\"tls\"} 10.0\n"))
        for c in ["ca", "signing", "encryption"] {
            #expect(metrics.contains("claimgate_certificate_days_to_expiry{subject=\"gateway\",certificate=\"\(c)\"} "))
        }
        for c in ["encryption", "trust-anchor"] {
            #expect(metrics.contains("claimgate_certificate_days_to_expiry{subject=\"acme-assessors\",certificate=\"\(c)\"} "))
        }
        #expect(metrics.contains("claimgate_agreement_days_to_end{subject=\"acme-assessors\"} "))
        clock.now = tls.notAfter.addingTimeInterval(86_400 / 2)
        #expect(try f.gateway.prometheusMetrics().contains("claimgate_certificate_days_to_expiry{subject=\"gateway\",certificate=\"tls\"} -0.5\n"))
    }

    @Test func theWatchLogsFindingsAtStartAndThenEveryInterval() async throws {
        let clock = ManualClock(Self.start())
        let f = try GatewayFixture(clock: clock)
        clock.now = try f.gateway.identity.tls().notAfter.addingTimeInterval(-20 * 86_400)
        let log = CapturedLog()
        var logger = Logger(label: "watch-test") { _ in log }
        logger.logLevel = .info

        let watch = CertificateWatch(gateway: f.gateway, interval: .milliseconds(50), logger: logger)
        let report = try #require(watch.check())
        #expect(report.findings.map(\.code) == [.certificateExpiring])
        let lines = log.lines
        #expect(lines.count == 2)
        #expect(lines[0].level == .warning && lines[0].message.contains("1 finding(s) need attention"))
        #expect(lines[1].level == .warning && lines[1].message.hasPrefix("The gateway TLS certificate expires on"))
        #expect(lines[1].metadata["finding.code"] == "certificate-expiring")
        #expect(lines[1].metadata["finding.subject"] == "identity/tls.pem")
        #expect(lines[1].metadata["finding.days_left"] == "20")

        // Run: once at start, then every interval, until cancelled; only on the node that holds
        // the job's lease (`serve`'s lease keeper takes it).
        log.clear()
        #expect(try f.gateway.takeLease(.certificateWatch) != nil)
        let task = Task { try await watch.run() }
        for _ in 0..<200 where log.lines.filter({ $0.message.contains("need attention") }).count < 3 {
            try await Task.sleep(for: .milliseconds(20))
        }
        task.cancel()
        try await task.value
        #expect(log.lines.filter { $0.message.contains("need attention") }.count >= 3)

        // Nothing to report: one info line.
        clock.now = Self.start()
        log.clear()
        watch.check()
        #expect(log.lines.map(\.level) == [.info])
    }
}

/// Log lines kept in memory for the watch test.
final class CapturedLog: LogHandler, @unchecked Sendable {
    struct Line: Sendable { let level: Logger.Level; let message: String; let metadata: [String: String] }
    private let stored = Mutex<[Line]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        let m = (event.metadata ?? [:]).mapValues { "\($0)" }
        stored.withLock { $0.append(Line(level: event.level, message: "\(event.message)", metadata: m)) }
    }
    var lines: [Line] { stored.withLock { $0 } }
    func clear() { stored.withLock { $0.removeAll() } }
}
