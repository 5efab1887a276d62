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
}
