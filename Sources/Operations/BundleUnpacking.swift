import ClaimGateCore
import Envelope
import Foundation
import Packaging

/// The checks every receiver of a bundle makes, partner or gateway: decrypt with the recipient's
/// key, verify the signature against the sender's trust anchors, read the manifest, and check
/// that it names this recipient, that the signer is the sender it names, and that it has not
/// expired. Documents are then checked against the manifest and released, all inside a private
/// staging folder the caller owns (and removes).
///
/// The documents are extracted while the bundle is decrypted (`BundleArchiveExtractor`), into
/// unverified files in a private folder inside `staging`; `extract()` releases them to
/// `staging/documents/` only after the GCM tag, the signer and the manifest checks all passed.
/// When `init` or `extract()` throws, every extracted byte is already gone; after a refusal
/// between the two, the unreleased files go with `staging` (and with this value).
struct BundleUnpacking {
    let manifest: BundleManifest
    let manifestBytes: Data
    let signer: Certificate
    let staging: String
    private let extractor: BundleArchiveExtractor

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
        let extractor: BundleArchiveExtractor
        do { extractor = try BundleArchiveExtractor(staging: staging) } catch let e as PackagingError {
            throw ClaimGateError(.bundleRejected, e.message, diagnostics: e.diagnostics)
        }
        do {
            // The streaming, strict opener: constant memory, the bundle profile only; the
            // documents it extracts on the way stay unverified files until `extract()`.
            let verified: StreamingBundleOpener.VerifiedStream
            do {
                verified = try StreamingBundleOpener(recipient: recipient, key: key, trust: trust)
                    .open(bundlePath: bundle, at: clock.now, into: extractor)
            } catch let e as EnvelopeError {
                throw ClaimGateError(.bundleRejected, e.message, diagnostics: e.diagnostics)
            }
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
            do {
                if let e = verified.contentError { throw e }
                manifestBytes = try extractor.manifest()
            } catch let e as PackagingError {
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
        } catch {
            extractor.discard()
            throw error
        }
        self.extractor = extractor
    }

    /// Checks the documents against the manifest, releases them to `staging/documents/` and
    /// writes `staging/manifest.json`. On failure nothing unverified is left.
    func extract() throws {
        do {
            try FileSystem.makeDirectory(staging + "/documents", mode: 0o700)
            do { try extractor.release(into: staging + "/documents", expecting: manifest.documents) } catch let e as PackagingError {
                throw ClaimGateError(.bundleRejected, e.message, diagnostics: e.diagnostics)
            }
            try FileSystem.writeAtomically(manifestBytes, to: staging + "/manifest.json", mode: 0o600)
        } catch {
            extractor.discard()
            throw error
        }
    }
}
