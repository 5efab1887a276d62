import ClaimGateCore
import Exchange

/// Sessions as the transports open them, for tests that drive the exchange directly.
extension GatewayExchange {
    static let testOrigin = SessionOrigin(transport: .https, clientAddress: "127.0.0.1:1")

    /// The partner a client certificate opens an HTTPS session for, or the refusal.
    func identify(clientCertificateDER der: [UInt8]) -> Result<PartnerID, Refusal> {
        openSession(.clientCertificate(der: der), origin: Self.testOrigin).map(\.partner)
    }
}

extension GatewayFixture {
    /// A session of `partner` as it stands after login, for listing and fetching through the
    /// exchange (its credential is judged only by `revalidate`).
    func session(_ partner: String = "acme-assessors", key: String? = nil) throws -> PartnerSession {
        let line = try key ?? String(contentsOfFile: pki.partner(partner, "ssh_ed25519.pub"), encoding: .utf8)
        return PartnerSession(partner: try PartnerID(partner), credential: .sshKey(user: partner, key: line),
                              origin: SessionOrigin(transport: .sftp, clientAddress: "127.0.0.1:2"))
    }
}
