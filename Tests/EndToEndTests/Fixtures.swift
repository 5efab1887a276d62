/// Agreement files the end-to-end tests onboard.
enum Fixtures {
    /// A partner that pulls over SFTP with the dev PKI's key, sharing PDFs for claim assessment.
    static func sftpPullAgreement(id: String, pki: String, reference: String) -> String {
        """
        id: \(id)
        name: \(id)
        role: assessor
        agreement:
          reference: \(reference)
          purposes: [claim-assessment]
          document_types: [application/pdf]
          max_retention_days: 30
          valid_until: 2099-12-31
        certificates:
          encryption: \(pki)/\(id)/encryption.pem
          trust_anchor: \(pki)/\(id)/ca.pem
        ssh:
          authorized_keys_file: \(pki)/\(id)/ssh_ed25519.pub
        delivery:
          pull: [sftp]
        """
    }

    /// An agreement for `id` with the dev PKI's encryption certificate and CA, sharing PDFs for
    /// claim assessment. `certificates` adds entries to the certificates mapping (a `tls_client`
    /// pin, a `crl`); `delivery` is the delivery mapping, in YAML flow style.
    static func agreement(id: String, name: String, role: String, pki: String, reference: String,
                          certificates: String? = nil, delivery: String) -> String {
        """
        id: \(id)
        name: \(name)
        role: \(role)
        agreement: {reference: \(reference), purposes: [claim-assessment], document_types: [application/pdf], max_retention_days: 30, valid_until: 2099-12-31}
        certificates: {encryption: \(pki)/\(id)/encryption.pem, trust_anchor: \(pki)/\(id)/ca.pem\(certificates.map { ", \($0)" } ?? "")}
        delivery: \(delivery)
        """
    }

    /// St Mary's Hospital, an institution that pulls over HTTPS unless `delivery` says otherwise.
    static func stMarysAgreement(pki: String, reference: String, certificates: String? = nil,
                                 delivery: String = "{pull: [https]}") -> String {
        agreement(id: "st-marys-hospital", name: "St Mary's", role: "institution", pki: pki, reference: reference,
                  certificates: certificates, delivery: delivery)
    }
}

import ClaimGateTesting
import Foundation

extension Fixtures {
    /// Seals `document` as `partner`'s report to the gateway in `home`, with `signer`'s signing
    /// key from the dev PKI (the partner's own, or another to test refusals), into `out`.
    static func sealReport(home: String, pki: String, partner: String, signer: String? = nil, claim: String,
                           document: String, out: String, scratch: TemporaryDirectory) throws -> Shell.Result {
        let gatewayCert = try scratch.write("gateway-enc-\(UUID().uuidString.prefix(8)).pem",
                                            try ClaimgateBinary.run(["identity", "--encryption-pem", "--home", home]).stdout)
        let s = signer ?? partner
        return try ClaimgateBinary.run(["seal-report", "--partner-id", partner, "--gateway-cert", gatewayCert,
                                        "--signer-cert", "\(pki)/\(s)/signing.pem", "--signer-key", "\(pki)/\(s)/signing.key",
                                        "--claim", claim, "--purpose", "claim-assessment", "--ttl", "7d", "--out", out, document])
    }
}
