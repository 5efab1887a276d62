import ClaimGateCore
import Envelope
import Foundation
import Packaging

/// The checks every receiver of a bundle makes, partner or gateway: decrypt with the recipient's
/// key, verify the signature against the sender's trust anchors, read the manifest, and check
/// that it names this recipient, that the signer is the sender it names, and that it has not
/// expired. Documents are then extracted and checked against the manifest, all inside a private
/// staging folder the caller owns (and removes).
struct BundleUnpacking {
    let manifest: BundleManifest
    let manifestBytes: Data
    let signer: Certificate
    let staging: String
    /// The verified inner archive (a private file in `staging`).
    let contentPath: String
    private let reader: BundleArchiveReader

    /// - Parameters:
    ///   - bundle: the sealed file.
    ///   - recipient: the certificate it must be addressed to, and its key.
    ///   - trust: the sender's trust anchors.
    ///   - crls: the revocation lists of the sender's CAs; when not empty, a signer they list (or
    ///     whose CA has none, or whose CA's list has expired) is refused.
    ///   - staging: an existing private folder for scratch files.
    init(bundle: String, recipient: Certificate, key: PrivateKey, trust: [Certificate],
         crls: [CertificateRevocationList] = [], clock: any WallClock, staging: String) throws {
        self.staging = staging
        // The streaming, strict opener: constant memory, the bundle profile only, and the archive
        // released only after the GCM tag, the signer's chain and the signature all verified.
        let verified: StreamingBundleOpener.Verified
        do {
            verified = try StreamingBundleOpener(recipient: recipient, key: key, trust: trust)
                .open(bundlePath: bundle, into: staging, at: clock.now)
        } catch let e as EnvelopeError {
            throw ClaimGateError(.bundleRejected, e.message, diagnostics: e.diagnostics)
        }
        contentPath = verified.contentPath
        let tar = verified.contentPath
        signer = verified.signer
        if !crls.isEmpty {
            // The signature chained; now the CA's word on the signer itself.
            do { try signer.verify(chainsTo: trust, at: clock.now, crls: crls) } catch let e as EnvelopeError {
                throw ClaimGateError(.bundleRejected, e.code == .revoked
                    ? "The bundle's signer certificate '\(signer.subject)' (serial \(signer.serialNumber)) is revoked: its CA's CRL lists it. Refused; tell the sender."
                    : "The bundle's signer certificate could not be checked against its CA's CRL: \(e.message)",
                    diagnostics: e.diagnostics)
            }
        }
        reader = BundleArchiveReader(path: tar)
        do { manifestBytes = try reader.readManifest() } catch let e as PackagingError {
            throw ClaimGateError(.bundleRejected, e.message, diagnostics: e.diagnostics)
        }
        manifest = try BundleManifest.decode(manifestBytes)
        guard manifest.recipient.encryptionCertificateSHA256 == recipient.sha256Fingerprint else {
            throw ClaimGateError(.bundleRejected,
                "The bundle's signed manifest names another recipient (\(manifest.recipient.partnerID)): it was forwarded and is refused; tell the sender.")
        }
        guard manifest.sender.signingCertificateSHA256 == signer.sha256Fingerprint else {
            throw ClaimGateError(.bundleRejected, "The bundle's manifest names a different signing certificate than the one that signed it: refused.")
        }
        if case .fails(let refusal) = BundleNotExpired(clock: clock).evaluate(manifest) {
            throw ClaimGateError(.bundleRejected, refusal.message)
        }
    }

    /// Extracts the documents to `staging/documents/` and writes `staging/manifest.json`.
    func extract() throws {
        try FileSystem.makeDirectory(staging + "/documents", mode: 0o700)
        do { try reader.extractDocuments(into: staging + "/documents", expecting: manifest.documents) } catch let e as PackagingError {
            throw ClaimGateError(.bundleRejected, e.message, diagnostics: e.diagnostics)
        }
        try FileSystem.writeAtomically(manifestBytes, to: staging + "/manifest.json", mode: 0o600)
    }

    /// Removes the scratch files (the decrypted archive), keeping what `extract` produced.
    func removeScratch() {
        unlink(contentPath)
    }
}
