import ClaimGateApp
import Operations
import DevTools
import ClaimGateCore
import ClaimGateTesting
import Envelope
import Foundation
import Logging

/// Dev PKI generated once per test run (RSA-3072 keys take a moment), shared read-only.
final class SharedPKI: @unchecked Sendable {
    static let shared = SharedPKI()
    let dir = TemporaryDirectory("claimgate-pki")
    var path: String { dir.path }

    private init() {
        try! DevPKI.generate(into: dir.path)
        // A second, unrelated CA for "does not chain" cases.
        let key = try! PrivateKey.generate(.p256)
        let ca = try! CertificateIssuer.issue(.authority("Other CA", organization: "Other", from: Date().addingTimeInterval(-3600), days: 365),
                                              for: key, issuer: nil)
        try! dir.write("other/ca.pem", ca.pem)
        try! dir.write("other/ca.key", try! key.pkcs8PEM())
    }

    func partner(_ id: String, _ file: String) -> String { path + "/" + id + "/" + file }

    /// The partner CA as (certificate, key), to issue odd certificates in tests.
    func issuer(_ id: String) throws -> (certificate: Certificate, key: PrivateKey) {
        (try Certificate.load(pemFile: partner(id, "ca.pem"))[0], try PrivateKey(pemFile: partner(id, "ca.key")))
    }
}

/// A fresh gateway home with the shared PKI, and helpers to write agreements and documents.
final class GatewayFixture: @unchecked Sendable {
    let dir = TemporaryDirectory("claimgate-home")
    let gateway: Gateway
    var pki: SharedPKI { .shared }
    static let pdf = Data("%PDF-1.4\n% sample claim report\n%%EOF\n".utf8)
    static let png = Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")!

    init(clock: any WallClock = SystemClock()) throws {
        var logger = Logger(label: "claimgate-test")
        logger.logLevel = .warning
        gateway = try Gateway.initialise(home: Home(root: dir.path + "/home"), gatewayID: "test-gateway",
                                         databaseURL: try TestDatabase.current.newDatabaseURL(),
                                         by: .local(uid: 1000, name: "test"), clock: clock, logger: logger)
    }

    /// Writes an agreement file; `overrides` replaces whole lines by key prefix.
    func agreement(id: String = "acme-assessors", pkiID: String? = nil, encryption: String? = nil, anchor: String? = nil,
                   purposes: String = "[claim-assessment, fraud-review]", types: String = "[application/pdf, image/jpeg, image/png]",
                   retention: String = "30", validUntil: String = "2099-12-31",
                   sshKeys: String? = nil, extra: String = "", masking: String = "[claimant.national_id]") throws -> String {
        let p = pkiID ?? id
        let defaultKey = try String(contentsOfFile: pki.partner(p, "ssh_ed25519.pub"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let ssh = sshKeys ?? "[\"\(defaultKey)\"]"
        let yaml = """
        id: \(id)
        name: Test Partner
        role: assessor
        agreement:
          reference: DSA-TEST-1
          purposes: \(purposes)
          document_types: \(types)
          max_retention_days: \(retention)
          valid_until: \(validUntil)
        certificates:
          encryption: \(encryption ?? pki.partner(p, "encryption.pem"))
          trust_anchor: \(anchor ?? pki.partner(p, "ca.pem"))
        ssh:
          authorized_keys: \(ssh)
        masking: \(masking)
        \(extra)
        """
        return try dir.write("agreements/\(id)-\(UUID().uuidString.prefix(8)).yaml", yaml)
    }

    @discardableResult
    func onboard(_ id: String = "acme-assessors") throws -> Partner {
        try gateway.addPartner(agreementFile: agreement(id: id), by: .local(uid: 1000, name: "test")).requireApplied()
    }

    func document(_ name: String, _ data: Data = pdf) throws -> String { try dir.write("docs/" + name, data) }

    /// The gateway's trust PEM as a file, for `open --trust`.
    func trustFile() throws -> String { try dir.write("gateway-trust.pem", gateway.identity.trustPEM) }

    func order(_ partner: String = "acme-assessors", purpose: String = "claim-assessment", expiry: ExpirySpec = .ttl(7 * 86_400),
               documents: [String], metadata: [String: String] = [:]) -> SealOrder {
        SealOrder(partner: partner, claimID: "CLM-2026-1", purpose: purpose, expiry: expiry, consentReference: "C-1",
                  metadata: metadata, documents: documents)
    }

    func open(_ bundle: String, as partner: String, out: String, clock: any WallClock = SystemClock()) throws -> BundleManifest {
        try PartnerOpener.open(.init(bundle: bundle, certificate: pki.partner(partner, "encryption.pem"),
                                     key: pki.partner(partner, "encryption.key"), trust: trustFile(), output: out), clock: clock)
    }
}
