import ClaimGateCore
import Envelope
import Foundation
import Store
import Synchronization

/// SHA-256 (hex) of bundles' sealed files, as partners see them (ETag, listings, receipts, push
/// `Repr-Digest`, destruction entries): computed once, then kept in the store and, bounded, in
/// memory. A sealed file never changes, so a digest stays true.
public final class BundleFileDigests: Sendable {
    private let store: GatewayStore
    private let known = Mutex<[BundleID: String]>([:])
    static let capacity = 65_536

    public init(store: GatewayStore) { self.store = store }

    /// The digest of bundle `id`'s file at `path`.
    public func digest(ofBundle id: BundleID, at path: String) throws -> String {
        if let d = known.withLock({ $0[id] }) { return d }
        let digest: String
        if let stored = try store.fileDigest(of: id) { digest = stored } else {
            do { digest = try SHA256Hasher.hex(file: path) } catch let e as EnvelopeError {
                throw ClaimGateError(.io, e.message)
            }
            try store.setFileDigest(digest, of: id)
        }
        known.withLock {
            if $0.count >= Self.capacity { $0.removeAll(keepingCapacity: true) }
            $0[id] = digest
        }
        return digest
    }
}
