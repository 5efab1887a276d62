import ClaimGateCore
import Envelope
import Foundation
import Packaging

/// The partner's side of a bundle: decrypt, verify, check the manifest, extract.
///
/// Everything happens in a private staging folder inside the output folder; files move into
/// place only after every check passed, so a refused bundle leaves nothing behind.
public enum PartnerOpener {
    public struct Request: Sendable {
        public var bundle: String
        public var certificate: String
        public var key: String
        public var trust: String
        public var output: String
        public init(bundle: String, certificate: String, key: String, trust: String, output: String) {
            self.bundle = bundle; self.certificate = certificate; self.key = key; self.trust = trust; self.output = output
        }
    }

    /// Opens a bundle. The result is `OUT/manifest.json` and `OUT/documents/<name>`, as the
    /// stock `openssl cms | tar -x` pipeline would produce.
    public static func open(_ r: Request, clock: any WallClock) throws -> BundleManifest {
        func option(_ name: String, _ e: EnvelopeError) -> ClaimGateError {
            ClaimGateError(e.code == .unreadable ? .unreadableInput : .invalidArgument, "\(name): \(e.message)", diagnostics: e.diagnostics)
        }
        let cert: Certificate, key: PrivateKey, trust: [Certificate]
        do { cert = try Certificate.load(pemFile: r.certificate)[0] } catch let e as EnvelopeError { throw option("--cert", e) }
        do { key = try PrivateKey(pemFile: r.key) } catch let e as EnvelopeError { throw option("--key", e) }
        do { trust = try Certificate.load(pemFile: r.trust) } catch let e as EnvelopeError { throw option("--trust", e) }
        guard FileManager.default.fileExists(atPath: r.bundle) else {
            throw ClaimGateError(.unreadableInput, "Bundle \(r.bundle) does not exist: check the path.")
        }

        let out = FileSystem.absolute(r.output)
        let createdOut = !FileManager.default.fileExists(atPath: out)
        let createdDocuments = !FileManager.default.fileExists(atPath: out + "/documents")
        try FileSystem.makeDirectory(out, mode: 0o700)
        let staging = out + "/.claimgate-open-" + UUID().uuidString.lowercased()
        try FileSystem.makeDirectory(staging, mode: 0o700)
        var moved: [String] = []
        do {
            let bundle = try BundleUnpacking(bundle: r.bundle, recipient: cert, key: key, trust: trust, clock: clock,
                                             staging: staging)
            try bundle.extract()
            let manifest = bundle.manifest

            // Every check passed: move into place without overwriting anything.
            try FileSystem.makeDirectory(out + "/documents", mode: 0o700)
            let targets = [("manifest.json", out + "/manifest.json")] + manifest.documents.map { ("documents/" + $0.name, out + "/documents/" + $0.name) }
            for (_, target) in targets where FileManager.default.fileExists(atPath: target) {
                throw ClaimGateError(.invalidArgument, "\(target) already exists: open the bundle into an empty folder.")
            }
            for (relative, target) in targets {
                try FileSystem.commit(staging + "/" + relative, to: target)
                moved.append(target)
            }
            try? FileManager.default.removeItem(atPath: staging)
            return manifest
        } catch {
            moved.forEach { unlink($0) }
            try? FileManager.default.removeItem(atPath: staging)
            if createdOut {
                try? FileManager.default.removeItem(atPath: out)
            } else if createdDocuments {
                rmdir(out + "/documents")
            }
            throw error
        }
    }
}
