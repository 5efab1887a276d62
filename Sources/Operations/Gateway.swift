import ClaimGateCore
import Envelope
import Exchange
import Foundation
import Logging
import Store
import Synchronization

/// One gateway home with its store, identity, clock and logger: the operations every front end
/// calls are its methods, each taking the acting `Principal` where it changes something.
public final class Gateway: @unchecked Sendable {
    public let home: Home
    public let store: GatewayStore
    public let identity: GatewayIdentity
    public let clock: any WallClock
    public let logger: Logger

    static let gatewayIDSetting = "gateway_id"

    init(home: Home, store: GatewayStore, identity: GatewayIdentity, clock: any WallClock, logger: Logger) {
        self.home = home; self.store = store; self.identity = identity; self.clock = clock; self.logger = logger
        fileDigests = BundleFileDigests(store: store)
        Self.opened.withLock { $0.append(self) }
    }

    /// Bundle-file digests, computed once and kept (shared with the partner exchange).
    public let fileDigests: BundleFileDigests

    private static let opened = Mutex<[Gateway]>([])
    /// Every gateway this process opened, so a command can seal their audit trails when it ends.
    public static var openedInThisProcess: [Gateway] { opened.withLock { $0 } }

    /// Opens an initialised home.
    public static func open(home: Home, clock: any WallClock = SystemClock(),
                            logger: Logger = Logger(label: "claimgate")) throws -> Gateway {
        try home.requireInitialised()
        let store = try GatewayStore(path: home.database)
        let gatewayID = try store.setting(gatewayIDSetting) ?? "claimgate"
        let identity = try GatewayIdentity.load(home, gatewayID: gatewayID)
        return Gateway(home: home, store: store, identity: identity, clock: clock, logger: logger)
    }

    /// Creates the store and the gateway identity in `home`.
    /// - Parameters:
    ///   - gatewayID: the name partners see as the sender, `[a-z0-9-]{2,64}`.
    ///   - material: certificates and keys to import instead of generating them.
    ///   - principal: who initialises it (named in the first audit entry).
    public static func initialise(home: Home, gatewayID: String, material: GatewayIdentity.Import = .init(),
                                  by principal: Principal, clock: any WallClock = SystemClock(),
                                  logger: Logger = Logger(label: "claimgate")) throws -> Gateway {
        guard PartnerID.isValid(gatewayID) else {
            throw ClaimGateError(.invalidArgument, "Gateway id '\(gatewayID.prefix(64))' is not valid: use 2 to 64 characters from a-z, 0-9 and '-'.")
        }
        if home.isInitialised || FileManager.default.fileExists(atPath: home.identity + "/signing.pem") {
            throw ClaimGateError(.alreadyInitialised, "A gateway already exists at \(home.root): use it, or choose another --home.")
        }
        try home.createLayout()
        try GatewayIdentity.create(in: home, gatewayID: gatewayID, material: material, now: clock.now)
        let store = try GatewayStore(path: home.database)
        try store.setSetting(gatewayIDSetting, gatewayID)
        try store.record(TransferEvent(time: clock.now, actor: principal.actor, action: .gatewayInitialised,
                                       outcome: .success, transport: .cli))
        let identity = try GatewayIdentity.load(home, gatewayID: gatewayID)
        return Gateway(home: home, store: store, identity: identity, clock: clock, logger: logger)
    }
}

extension Gateway {
    /// SHA-256 (hex) of a bundle's sealed file, as partners see it (ETag, listings, receipts, push
    /// `Repr-Digest`, destruction entries): computed once, then kept in the store.
    func fileDigest(ofBundle id: BundleID, at path: String) throws -> String {
        try fileDigests.digest(ofBundle: id, at: path)
    }
}

/// Committed partner uploads are opened and checked as inbound reports by the gateway.
extension Gateway: InboundProcessing {}

