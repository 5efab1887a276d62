import ClaimGateCore
import Envelope
import Foundation

/// The partner's side of an inbound report: seals documents to the gateway's encryption
/// certificate and signs them with the partner's own signing key, in the same bundle format the
/// gateway uses. Needs no gateway home.
public enum PartnerSealer {
    public struct Request: Sendable {
        /// The sending partner's id, as onboarded at the gateway.
        public var partnerID: String
        /// `claimgate identity --encryption-pem` of the gateway.
        public var gatewayCertificate: String
        /// The partner's signing certificate (PEM; issuing certificates may follow it) and key.
        public var signerCertificate: String
        public var signerKey: String
        public var claimID: String
        public var purpose: String
        public var expiry: ExpirySpec
        public var consentReference: String?
        public var agreementReference: String?
        public var metadata: [String: String]
        public var documents: [String]
        public var output: String

        public init(partnerID: String, gatewayCertificate: String, signerCertificate: String, signerKey: String,
                    claimID: String, purpose: String, expiry: ExpirySpec, consentReference: String? = nil,
                    agreementReference: String? = nil, metadata: [String: String] = [:], documents: [String], output: String) {
            self.partnerID = partnerID; self.gatewayCertificate = gatewayCertificate; self.signerCertificate = signerCertificate
            self.signerKey = signerKey; self.claimID = claimID; self.purpose = purpose; self.expiry = expiry
            self.consentReference = consentReference; self.agreementReference = agreementReference
            self.metadata = metadata; self.documents = documents; self.output = output
        }
    }

    /// Seals the report to `request.output` (which must not exist) and returns its manifest.
    public static func seal(_ r: Request, clock: any WallClock = SystemClock()) throws -> BundleManifest {
        func option(_ name: String, _ e: EnvelopeError) -> ClaimGateError {
            ClaimGateError(e.code == .unreadable ? .unreadableInput : .invalidArgument, "\(name): \(e.message)", diagnostics: e.diagnostics)
        }
        let partner = try PartnerID(r.partnerID)
        let gateway: Certificate, chain: [Certificate], key: PrivateKey
        do { gateway = try Certificate.load(pemFile: r.gatewayCertificate)[0] } catch let e as EnvelopeError { throw option("--gateway-cert", e) }
        do { chain = try Certificate.load(pemFile: r.signerCertificate) } catch let e as EnvelopeError { throw option("--signer-cert", e) }
        do { key = try PrivateKey(pemFile: r.signerKey) } catch let e as EnvelopeError { throw option("--signer-key", e) }
        let signer = chain[0]
        guard key.matches(signer) else {
            throw ClaimGateError(.invalidArgument, "--signer-key does not belong to --signer-cert: pass the matching pair.")
        }
        guard signer.allowsContentSigning else {
            throw ClaimGateError(.invalidArgument, "--signer-cert is not meant for signing content (key usage or extended key usage): use your signing certificate.")
        }
        let now = clock.now
        guard now >= gateway.notBefore, now < gateway.notAfter else {
            throw ClaimGateError(.invalidArgument, "--gateway-cert is not valid now (until \(Timestamp.format(gateway.notAfter))): get the gateway's current `claimgate identity --encryption-pem`.")
        }
        let created = Timestamp.wholeSeconds(now)
        let expires = Timestamp.wholeSeconds(r.expiry.resolve(createdAt: created))
        guard expires > now else { throw ClaimGateError(.invalidArgument, "The expiry is not in the future: choose a later --expires or a --ttl.") }
        let out = FileSystem.absolute(r.output)
        guard !FileManager.default.fileExists(atPath: out) else {
            throw ClaimGateError(.invalidArgument, "\(out) already exists: choose another --out or remove it first.")
        }
        guard !r.documents.isEmpty else { throw ClaimGateError(.invalidArgument, "Name at least one document to send.") }
        guard r.documents.count <= BundleManifest.maxDocuments else {
            throw ClaimGateError(.invalidArgument, "\(r.documents.count) documents given: a report holds at most \(BundleManifest.maxDocuments); split them across reports.")
        }
        let documents = try r.documents.map(SourceDocument.init(path:))
        let pipeline = SealPipeline(signer: signer, signerKey: key, chain: Array(chain.dropFirst()), recipient: gateway)
        let (bytes, _) = try pipeline.sealFile(documents, to: out, created: created) { entries in
            try BundleManifest(
                bundleID: .random(), claimID: r.claimID,
                sender: .init(gatewayID: partner.rawValue, signingCertificateSHA256: signer.sha256Fingerprint),
                recipient: .init(partnerID: "gateway", encryptionCertificateSHA256: gateway.sha256Fingerprint),
                agreementReference: r.agreementReference ?? "", purpose: r.purpose, consentReference: r.consentReference,
                created: created, expires: expires, metadata: r.metadata, documents: entries
            ).encoded()
        }
        return try BundleManifest.decode(bytes)
    }
}
