import Audit
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
        // A read-only gateway writes nothing, so there is nothing for a command to seal.
        if !store.isReadOnly { Self.opened.withLock { $0.append(self) } }
    }

    /// Set when the trail was found tampered (by an export): from then on this gateway signs no
    /// checkpoint, so that a command ending does not seal over what it found.
    let tamperingFound = Mutex(false)

    /// When this gateway last noted each operator's use of each right (`noteRightsUsed`), so
    /// that it writes one at most once a minute.
    let rightUsesNoted = Mutex<[String: Date]>([:])

    /// The lease of each singleton job this node took last (`Gateway+Leases`).
    let heldLeases = Mutex<[SingletonJob: JobLease]>([:])

    /// Where the store is: the SQLite file's path, or the PostgreSQL URL (without password).
    public var databaseLocation: String { store.location }

    /// Whether this gateway was opened with `openReadOnly`: it records and seals nothing.
    public var isReadOnly: Bool { store.isReadOnly }

    /// Bundle-file digests, computed once and kept (shared with the partner exchange).
    public let fileDigests: BundleFileDigests

    private static let opened = Mutex<[Gateway]>([])
    /// Every gateway this process opened, so a command can seal their audit trails when it ends.
    public static var openedInThisProcess: [Gateway] { opened.withLock { $0 } }

    /// Opens an initialised home.
    public static func open(home: Home, clock: any WallClock = SystemClock(),
                            logger: Logger = Logger(label: "claimgate")) throws -> Gateway {
        try home.requireInitialised()
        return try open(home: home, store: home.openStore(), clock: clock, logger: logger)
    }

    /// Opens an initialised home for reading only (`audit verify`, `bundle list`, `doctor`): its
    /// database is opened read-only, nothing is recorded, sealed, created or migrated, and its
    /// files are left exactly as they were, so a read-only copy of a home can be inspected.
    public static func openReadOnly(home: Home, clock: any WallClock = SystemClock(),
                                    logger: Logger = Logger(label: "claimgate")) throws -> Gateway {
        try home.requireInitialised()
        return try open(home: home, store: home.openStore(readOnly: true), clock: clock, logger: logger)
    }

    /// The gateway over an opened store: its id from the store, its identity from the home.
    private static func open(home: Home, store: GatewayStore, clock: any WallClock, logger: Logger) throws -> Gateway {
        let gatewayID = try store.setting(gatewayIDSetting) ?? "claimgate"
        let identity = try GatewayIdentity.load(home, gatewayID: gatewayID)
        return Gateway(home: home, store: store, identity: identity, clock: clock, logger: logger)
    }

    /// One sentence for an error the gateway database reported (SQLite: damaged, not a database,
    /// read-only, locked, full; PostgreSQL: unreachable, refused, no answer), with what to do; nil
    /// for any other error.
    public static func explainStoreError(_ error: any Error) -> ClaimGateError? {
        GatewayStore.explainIfDatabaseError(error)
    }

    /// Creates the store and the gateway identity in `home`.
    /// - Parameters:
    ///   - gatewayID: the name partners see as the sender, `[a-z0-9-]{2,64}`.
    ///   - material: certificates and keys to import instead of generating them.
    ///   - principal: who initialises it (named in the first audit entry).
    ///   - databaseURL: a PostgreSQL database to hold the store (shared by several nodes),
    ///     `postgresql://USER@HOST:PORT/DB`, recorded in the home without a password; nil for the
    ///     home's own SQLite file.
    public static func initialise(home: Home, gatewayID: String, material: GatewayIdentity.Import = .init(),
                                  databaseURL: String? = nil,
                                  by principal: Principal, clock: any WallClock = SystemClock(),
                                  logger: Logger = Logger(label: "claimgate")) throws -> Gateway {
        if case .operator = principal {
            throw ClaimGateError(.notPermitted, "A gateway is initialised at its host's shell only: run `claimgate init` there.", refusal: .roleMissing)
        }
        guard PartnerID.isValid(gatewayID) else {
            throw ClaimGateError(.invalidArgument, "Gateway id '\(gatewayID.prefix(64))' is not valid: use 2 to 64 characters from a-z, 0-9 and '-', starting with a letter or digit.")
        }
        if home.isInitialised || FileManager.default.fileExists(atPath: home.identity + "/signing.pem") {
            throw ClaimGateError(.alreadyInitialised, "A gateway already exists at \(home.root): use it, or choose another --home.")
        }
        // The shared database first: one that already holds a gateway's trail is not taken over.
        let database = try databaseURL.map { try PostgresLocation(url: $0) }
        var shared: GatewayStore?
        if let database {
            let store = GatewayStore(database: try PostgresDatabase(database))
            if try store.auditHead().sequence > 0 {
                throw ClaimGateError(.alreadyInitialised, "The database \(database) already holds a gateway (its audit trail has begun): give the other nodes the same --home folder instead of initialising again, or use an empty database.")
            }
            shared = store
        }
        try home.createLayout()
        if let database { try home.recordDatabase(database) }
        try GatewayIdentity.create(in: home, gatewayID: gatewayID, material: material, now: clock.now)
        let store = try shared ?? GatewayStore(path: home.database)
        try store.setSetting(gatewayIDSetting, gatewayID)
        let identity = try GatewayIdentity.load(home, gatewayID: gatewayID)
        // Entry 1 names the audit key, and a checkpoint seals it at once: a store emptied or
        // re-created later lacks it, and `audit verify` says so.
        try store.appendGenesis(keyID: try identity.auditKey().publicKey.keyID, time: AuditTime.format(clock.now))
        try store.record(TransferEvent(time: clock.now, actor: principal.actor, action: .gatewayInitialised,
                                       outcome: .success, transport: .cli))
        let gateway = Gateway(home: home, store: store, identity: identity, clock: clock, logger: logger)
        // The operator CA, when the gateway CA's key is here to issue it (a CA imported without
        // its key gets one at the first `operator add` that has the key).
        if FileManager.default.fileExists(atPath: home.identity + "/" + GatewayIdentity.File.caKey) {
            try gateway.ensureOperatorCA()
        }
        try gateway.sealAuditTrail()
        return gateway
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

