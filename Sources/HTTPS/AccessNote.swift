import ClaimGateCore
import Foundation

/// What a partner API request's handler learns for its access line (the partner its
/// certificate opened a session for, the bundle, the operation), shared with
/// `PartnerProblemMiddleware`, which reports the line when the response is ready. A download
/// reports its own line when its body has been written (`deferred`), with the bytes sent.
final class AccessNote: @unchecked Sendable {
    private let lock = NSLock()
    private var _partner: PartnerID?
    private var _bundle: BundleID?
    private var _operation: AccessRecord.Operation = .other
    private var _deferred = false
    private var _bytes: Int64?
    let started = ContinuousClock.now

    var partner: PartnerID? {
        get { lock.withLock { _partner } }
        set { lock.withLock { _partner = newValue } }
    }
    var bundle: BundleID? {
        get { lock.withLock { _bundle } }
        set { lock.withLock { _bundle = newValue } }
    }
    var operation: AccessRecord.Operation {
        get { lock.withLock { _operation } }
        set { lock.withLock { _operation = newValue } }
    }
    /// Bytes the request carried in (an upload), instead of the response's length.
    var bytes: Int64? {
        get { lock.withLock { _bytes } }
        set { lock.withLock { _bytes = newValue } }
    }
    /// The handler reports the line itself, later.
    var deferred: Bool {
        get { lock.withLock { _deferred } }
        set { lock.withLock { _deferred = newValue } }
    }

    func record(transport: Transport = .https, clientAddress: String, request: String, bytes: Int64, status: Int) -> AccessRecord {
        lock.withLock {
            AccessRecord(transport: transport, partner: _partner, clientAddress: clientAddress, operation: _operation,
                         request: request, bundleID: _bundle, bytes: bytes, status: String(status),
                         duration: ContinuousClock.now - started)
        }
    }
}
