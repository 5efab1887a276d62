import Audit
import ClaimGateCore
import Foundation
import Synchronization

/// The gateway's database: partners with every agreement version, bundles, deliveries, inbound
/// reports, operators and the hash-chained event log (the audit trail). All writes are
/// transactions; a bundle and its seal event are committed together.
///
/// One store over two backends (`SQLDatabase`): SQLite in the home (the embedded default, one
/// node) or PostgreSQL (several nodes). The logic and the SQL here are the same for both; no SQL
/// leaves this module.
public final class GatewayStore: EventRecorder, Sendable {
    let db: any SQLDatabase
    /// Every write goes through here: durable, group-committed, with its audit entry.
    let commits: GroupCommit
    /// Opened for reading only: nothing is ever written, created or migrated.
    public var isReadOnly: Bool { db.isReadOnly }
    /// Where the database is: its path, or a PostgreSQL URL without password.
    public var location: String { db.location }

    /// The store on an open backend.
    public init(database: any SQLDatabase) {
        db = database
        commits = GroupCommit(database)
    }

    /// Opens (creating and migrating if needed) the SQLite database at `path`. A new database file
    /// is created with mode 0600, and SQLite gives its `-wal` and `-shm` files the same mode.
    public convenience init(path: String) throws {
        GatewayStore.noteOpened(path)
        self.init(database: try SQLiteDatabase(path: path))
    }

    /// Opens the SQLite database at `path` for reading only: no file is created or written, no
    /// migration runs, and every write fails. For commands that only read (`audit verify`,
    /// `bundle list`, `doctor`), so that they work on a read-only copy of a home and leave its
    /// files exactly as they were (see `SQLiteDatabase.init(readingAt:)`).
    public convenience init(readingAt path: String) throws {
        GatewayStore.noteOpened(path)
        self.init(database: try SQLiteDatabase(readingAt: path))
    }

    /// For a store opened read-only and immutable: whether the database file is still as it was
    /// when opened (no gateway process has opened or written it since). Always true otherwise.
    public var isUnchangedSinceOpened: Bool {
        (db as? SQLiteDatabase)?.isUnchangedSinceOpened ?? true
    }

    private static let lastOpened = Mutex<String?>(nil)
    private static func noteOpened(_ path: String) { lastOpened.withLock { $0 = path } }

    /// One sentence for an error the database reported (damaged, not a database, read-only,
    /// locked, full, unreachable), with what to do; nil for any other error. The database's own
    /// message goes to `diagnostics` only.
    /// - Parameters:
    ///   - error: any error; only the backends' database errors are explained.
    ///   - path: the database; by default the one this process opened last.
    public static func explainIfDatabaseError(_ error: any Error, path: String? = nil) -> ClaimGateError? {
        let path = path ?? lastOpened.withLock { $0 } ?? "claimgate.sqlite"
        return SQLiteDatabase.explainIfDatabaseError(error, path: path) ?? PostgresDatabase.explainIfDatabaseError(error)
    }



    /// The cached SHA-256 of a bundle's sealed file, if computed.
    public func fileDigest(of bundle: BundleID) throws -> String? {
        try db.readStatement { try String.fetchOne($0.cachedStatement(sql: "SELECT file_sha256 FROM bundle WHERE id = ?"), arguments: [bundle.description]) }
    }

    public func setFileDigest(_ digest: String, of bundle: BundleID) throws {
        try commits.write { try $0.execute(sql: "UPDATE bundle SET file_sha256 = ? WHERE id = ?", arguments: [digest, bundle.description]) }
    }

    // MARK: Metrics

    /// Event counts and byte sums by action, outcome, transport and reason code (the closed code,
    /// from its column).
    public func eventTotals() throws -> [(action: String, outcome: String, transport: String, reason: String?, count: Int, bytes: Int64)] {
        try db.read { db in
            try SQLRow.fetchAll(db, sql: """
                SELECT action, outcome, transport, reason_code, COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b
                FROM event GROUP BY action, outcome, transport, reason_code
                """).map { ($0["action"], $0["outcome"], $0["transport"], $0["reason_code"], $0["n"], $0["b"]) }
        }
    }

    // MARK: Inbound reports

    /// Stores a processed upload and its event in one transaction.
    public func insertInbound(_ r: InboundReport, event: TransferEvent) throws {
        try commits.write { db in
            try db.execute(sql: """
                INSERT INTO inbound_report(id, partner_id, file_name, received_at, bytes, state, reason, transport, bundle_id,
                                           claim_id, purpose, manifest_json, stored_path)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [r.id.uuidString.lowercased(), r.partnerID.rawValue, r.fileName, StoredDate.text(r.received),
                                 r.bytes, r.state.rawValue, r.reason, r.transport.rawValue, r.bundleID?.description,
                                 r.claimID, r.purpose, r.manifestJSON, r.storedPath])
            try Self.insert(event, db)
        }
    }

    /// Processed uploads, newest first, optionally of one partner, one id, or the accepted copy
    /// of one report (bundle id).
    /// Whether `partner` already uploaded a file named `fileName` (names are used once).
    public func hasInboundReport(partner: PartnerID, fileName: String) throws -> Bool {
        try db.read { db in
            try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM inbound_report WHERE partner_id = ? AND file_name = ?)"),
                              arguments: [partner.rawValue, fileName]) ?? false
        }
    }

    public func inboundReports(partner: PartnerID? = nil, id: UUID? = nil, acceptedBundle: BundleID? = nil) throws -> [InboundReport] {
        let (clause, args) = Self.filter([
            ("partner_id = ?", partner?.rawValue),
            ("id = ?", id?.uuidString.lowercased()),
            ("bundle_id = ? AND state = 'accepted'", acceptedBundle?.description),
        ])
        return try db.read { db in
            try SQLRow.fetchAll(db, sql: "SELECT * FROM inbound_report \(clause) ORDER BY received_at DESC, id",
                             arguments: args).map { row in
                InboundReport(id: UUID(uuidString: row["id"])!, partnerID: try PartnerID(stored: row["partner_id"]),
                              fileName: row["file_name"], received: try StoredDate.date(row["received_at"]), bytes: row["bytes"],
                              state: InboundReport.State(rawValue: row["state"]) ?? .quarantined, reason: row["reason"],
                              transport: Transport(rawValue: row["transport"]) ?? .sftp,
                              bundleID: (row["bundle_id"] as String?).flatMap { BundleID(lenient: $0) },
                              claimID: row["claim_id"], purpose: row["purpose"], manifestJSON: row["manifest_json"],
                              storedPath: row["stored_path"])
            }
        }
    }

    // MARK: Settings

    public func setting(_ key: String) throws -> String? {
        try db.read { try String.fetchOne($0, sql: "SELECT value FROM gateway_setting WHERE key = ?", arguments: [key]) }
    }

    public func setSetting(_ key: String, _ value: String) throws {
        try commits.write {
            try $0.execute(sql: "INSERT INTO gateway_setting(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           arguments: [key, value])
        }
    }

    // MARK: Partners

    /// Stores a new partner with its first agreement version, and records `event`, in one transaction.
    /// - Parameters:
    ///   - source: the agreement file's text, kept with the version.
    ///   - settling: the pending change this applies, settled in the same transaction.
    public func addPartner(_ agreement: PartnerAgreement, source: String, at: Date, event: TransferEvent,
                           settling: ChangeSettlement? = nil) throws -> Partner {
        let json = try Self.json(agreement)
        return try commits.write { db in
            if let settling { try Self.settle(settling, db) }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM partner WHERE id = ?", arguments: [agreement.id.rawValue]) == true {
                throw ClaimGateError(.partnerExists, "Partner \(agreement.id) is already onboarded: use `claimgate partner show \(agreement.id)`.")
            }
            try db.execute(sql: """
                INSERT INTO partner(id, name, role, status, current_version, onboarded_at) VALUES (?, ?, ?, ?, 1, ?)
                """, arguments: [agreement.id.rawValue, agreement.name, agreement.role.rawValue, PartnerStatus.active.rawValue,
                                 StoredDate.text(at)])
            try db.execute(sql: """
                INSERT INTO partner_version(partner_id, version, agreement_json, source, recorded_at) VALUES (?, 1, ?, ?, ?)
                """, arguments: [agreement.id.rawValue, json, source, StoredDate.text(at)])
            try Self.insert(event, db)
            return Partner(agreement: agreement, status: .active, version: 1, onboardedAt: at)
        }
    }

    public func partner(_ id: PartnerID) throws -> Partner? {
        try db.read { try Self.fetchPartners(db: $0, where: "p.id = ?", [id.rawValue]).first }
    }

    public func partners() throws -> [Partner] {
        try db.read { try Self.fetchPartners(db: $0, where: "TRUE", []) }
    }

    /// Every agreement version of a partner, oldest first.
    public func agreementVersions(_ id: PartnerID) throws -> [(version: Int, recordedAt: Date, agreement: PartnerAgreement)] {
        try db.read { db in
            try SQLRow.fetchAll(db, sql: "SELECT version, recorded_at, agreement_json FROM partner_version WHERE partner_id = ? ORDER BY version",
                             arguments: [id.rawValue]).map { row in
                (row["version"], try StoredDate.date(row["recorded_at"]), try Self.decodeAgreement(row["agreement_json"]))
            }
        }
    }

    private static func fetchPartners(db: any SQLSession, where clause: String, _ args: [any SQLEncodable]) throws -> [Partner] {
        try SQLRow.fetchAll(db, sql: """
            SELECT p.status, p.current_version, p.onboarded_at, v.agreement_json
            FROM partner p JOIN partner_version v ON v.partner_id = p.id AND v.version = p.current_version
            WHERE \(clause) ORDER BY p.id
            """, arguments: SQLArguments(args)).map { row in
            Partner(agreement: try decodeAgreement(row["agreement_json"]),
                    status: PartnerStatus(rawValue: row["status"]) ?? .suspended,
                    version: row["current_version"], onboardedAt: try StoredDate.date(row["onboarded_at"]))
        }
    }

    // MARK: Bundles

    /// Stores a sealed bundle, its seal event and, for a partner that receives pushes, its
    /// pending delivery, in one transaction.
    public func insertBundle(_ b: BundleRecord, delivery: Delivery? = nil, event: TransferEvent) throws {
        try commits.write { db in
            try db.execute(sql: """
                INSERT INTO bundle(id, partner_id, claim_id, purpose, state, created_at, expires_at, manifest_json,
                                   manifest_sha256, file_path, file_size, agreement_version, document_types)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [b.id.description, b.partnerID.rawValue, b.claimID, b.purpose, b.state.rawValue,
                                 StoredDate.text(b.created), StoredDate.text(b.expires), b.manifestJSON, b.manifestSHA256, b.filePath, b.fileSize,
                                 b.agreementVersion, b.documentTypes.joined(separator: " ")])
            try Self.insert(event, db)
            if let delivery { try Self.insert(delivery, db) }
        }
    }

    // MARK: Deliveries

    private static func insert(_ d: Delivery, _ db: any SQLSession) throws {
        try db.execute(sql: """
            INSERT INTO delivery(bundle_id, partner_id, transport, target, state, attempts, created_at)
            VALUES (?, ?, ?, ?, ?, 0, ?)
            """, arguments: [d.bundleID.description, d.partnerID.rawValue, d.transport.rawValue, d.target,
                             d.state.rawValue, StoredDate.text(d.created)])
    }

    /// Deliveries, newest first; optionally only those in `states`, or that of one bundle.
    public func deliveries(states: Set<DeliveryState>? = nil, bundle: BundleID? = nil) throws -> [Delivery] {
        var (clause, args) = Self.filter([("bundle_id = ?", bundle?.description)])
        if let states {
            clause += (clause.isEmpty ? "WHERE " : " AND ") + "state IN (" + states.map { _ in "?" }.joined(separator: ", ") + ")"
            args += SQLArguments(states.map(\.rawValue))
        }
        return try db.read { db in
            try SQLRow.fetchAll(db, sql: "SELECT * FROM delivery \(clause) ORDER BY id DESC", arguments: args).map { row in
                Delivery(
                    id: row["id"], bundleID: BundleID(lenient: row["bundle_id"])!, partnerID: try PartnerID(stored: row["partner_id"]),
                    transport: Transport(rawValue: row["transport"]) ?? .sftp, target: row["target"],
                    state: DeliveryState(rawValue: row["state"]) ?? .failed, attempts: row["attempts"],
                    lastAttemptAt: try (row["last_attempt_at"] as String?).map(StoredDate.date),
                    lastErrorCode: row["last_error_code"], lastError: row["last_error"],
                    deliveredAt: try (row["delivered_at"] as String?).map(StoredDate.date),
                    created: try StoredDate.date(row["created_at"]))
            }
        }
    }

    /// Records one attempt: the delivery's new state and error, the event, and on success the
    /// bundle's move to `delivered`, in one transaction. An attempt that did not deliver leaves
    /// a delivery that stopped being pending meanwhile (cancelled by an operator, a recall or a
    /// removal while the push ran) as it is; one that delivered says so whatever happened.
    /// - Parameter lease: the `deliveries` lease the attempt ran under: checked in the same
    ///   transaction (`LeaseLost` when another node took the job over meanwhile; nothing is
    ///   recorded then, and that node's attempt is the one that counts).
    public func recordAttempt(_ d: Delivery, lease: JobLease? = nil, event: TransferEvent) throws {
        try commits.write { db in
            if let lease { try Self.requireLease(lease, db) }
            try db.execute(sql: """
                UPDATE delivery SET state = ?, attempts = ?, last_attempt_at = ?, last_error_code = ?, last_error = ?,
                                    delivered_at = ? WHERE id = ? AND (state = 'pending' OR ? = 'delivered')
                """, arguments: [d.state.rawValue, d.attempts, d.lastAttemptAt.map(StoredDate.text), d.lastErrorCode,
                                 d.lastError, d.deliveredAt.map(StoredDate.text), d.id, d.state.rawValue])
            if d.state == .delivered {
                try db.execute(sql: "UPDATE bundle SET state = ? WHERE id = ? AND state = ?",
                               arguments: [BundleState.delivered.rawValue, d.bundleID.description, BundleState.queued.rawValue])
            }
            try Self.insert(event, db)
        }
    }

    /// An operator's change to a delivery (`deliveries retry` or `cancel`): its new state, last
    /// attempt and error as `d` holds them, only while it is still in one of `from`, and `event`,
    /// in one transaction.
    /// - Throws: `delivery-settled` when it is no longer in one of `from` (an attempt or another
    ///   operator changed it meanwhile); nothing is changed or recorded then.
    public func changeDelivery(_ d: Delivery, from: Set<DeliveryState>, event: TransferEvent) throws {
        try commits.write { db in
            try db.execute(sql: """
                UPDATE delivery SET state = ?, last_attempt_at = ?, last_error_code = ?, last_error = ?
                WHERE id = ? AND state IN (\(from.map { _ in "?" }.joined(separator: ", ")))
                """, arguments: SQLArguments([d.state.rawValue, d.lastAttemptAt.map(StoredDate.text), d.lastErrorCode, d.lastError,
                                                    d.id] as [(any SQLEncodable)?]) + SQLArguments(from.map(\.rawValue)))
            guard db.changesCount == 1 else {
                throw ClaimGateError(.deliverySettled, "The delivery of bundle \(d.bundleID.description) changed meanwhile: see `claimgate deliveries`.")
            }
            try Self.insert(event, db)
        }
    }

    /// Moves a bundle to `state` and records `event`, in one transaction.
    /// - Parameter from: only these states move (e.g. a download does not undo an acknowledgement).
    public func updateBundleState(_ id: BundleID, to state: BundleState, from: Set<BundleState>, event: TransferEvent) throws {
        try commits.write { db in
            try Self.updateState(id, to: state, from: from, db)
            try Self.insert(event, db)
        }
    }

    private static func updateState(_ id: BundleID, to state: BundleState, from: Set<BundleState>, _ db: any SQLSession) throws {
        // Sorted, so the same transition reuses one cached statement.
        let sources = from.map(\.rawValue).sorted()
        let placeholders = sources.map { _ in "?" }.joined(separator: ", ")
        var args: [any SQLEncodable] = [state.rawValue, id.description]
        args += sources
        try db.cachedStatement(sql: "UPDATE bundle SET state = ? WHERE id = ? AND state IN (\(placeholders))")
            .execute(arguments: SQLArguments(args))
    }

    /// One bundle. A single SELECT is atomic on its own, so it runs without a read transaction
    /// (each BEGIN/COMMIT pair costs as much as the lookup): this is on every download's path.
    /// In one durable transaction: reads bundle `id` as it stands (nil when there is none),
    /// lets `decide` judge it, and appends the event `decide` returns. Nothing can recall,
    /// purge or expire the bundle between the judgement and its record.
    public func judgingBundle<T>(_ id: BundleID, _ decide: @escaping (BundleRecord?) throws -> (T, TransferEvent?)) throws -> T {
        try commits.write { db in
            let (result, event) = try decide(try Self.fetchBundles(db, where: "id = ?", [id.description]).first)
            if let event { try Self.insert(event, db) }
            return result
        }
    }

    /// Records `event` (and, when `state` is given, moves the bundle from one of `from` to it)
    /// in the next transaction, without waiting for it: for what nothing depends on, such as
    /// the end of a download whose start is already recorded. Committed within a few
    /// milliseconds, or by `flush()`; a failure goes to `onFailure`.
    public func recordSoon(_ event: TransferEvent, bundleState: (id: BundleID, to: BundleState, from: Set<BundleState>)? = nil,
                           onFailure: @escaping @Sendable (any Error) -> Void) {
        commits.enqueue({ db in
            if let b = bundleState { try Self.updateState(b.id, to: b.to, from: b.from, db) }
            try Self.insert(event, db)
        }, onFailure: onFailure)
    }

    /// Waits until every change written or queued before this call is committed.
    public func flush() throws { try commits.flush() }

    public func bundle(_ id: BundleID) throws -> BundleRecord? {
        try db.readStatement { try Self.fetchBundles($0, where: "id = ?", [id.description]).first }
    }

    /// Bundles, newest first, optionally of one partner.
    public func bundles(partner: PartnerID? = nil) throws -> [BundleRecord] {
        try db.read { db in
            if let partner { return try Self.fetchBundles(db, where: "partner_id = ?", [partner.rawValue]) }
            return try Self.fetchBundles(db, where: "TRUE", [])
        }
    }

    /// Bundles matching `search` (its partner already resolved to `partner`), among the
    /// partners of `scope` (nil: every partner), newest first: at most `search.limit` of them, and
    /// how many match in all.
    public func searchBundles(_ search: BundleSearch, partner: PartnerID?, scope: Set<PartnerID>?) throws -> (bundles: [BundleRecord], total: Int) {
        var clauses: [String] = [], args: [any SQLEncodable] = []
        if let partner { clauses.append("partner_id = ?"); args.append(partner.rawValue) }
        if let scope {
            clauses.append(scope.isEmpty ? "FALSE" : "partner_id IN (\(Array(repeating: "?", count: scope.count).joined(separator: ",")))")
            args += scope.map(\.rawValue).sorted()
        }
        if let claim = search.claim, !claim.isEmpty { clauses.append(db.dialect.containsIgnoringCase("claim_id", "?")); args.append(claim) }
        if let state = search.state { clauses.append("state = ?"); args.append(state.rawValue) }
        if let from = search.createdFrom { clauses.append("created_at >= ?"); args.append(StoredDate.text(from)) }
        if let before = search.createdBefore { clauses.append("created_at < ?"); args.append(StoredDate.text(before)) }
        let whereSQL = clauses.isEmpty ? "TRUE" : clauses.joined(separator: " AND ")
        return try db.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM bundle WHERE \(whereSQL)", arguments: SQLArguments(args)) ?? 0
            let rows = try Self.fetchBundles(db, where: whereSQL, args, limit: max(0, search.limit))
            return (rows, total)
        }
    }

    static func fetchBundles(_ db: any SQLSession, where clause: String, _ args: [any SQLEncodable], limit: Int? = nil) throws -> [BundleRecord] {
        // Cached: the clauses are a handful of fixed strings, and lookups are on the download
        // path; columns are read by position, not looked up by name.
        try SQLRow.fetchAll(db.cachedStatement(sql: """
            SELECT id, partner_id, claim_id, purpose, state, created_at, expires_at, manifest_json, manifest_sha256,
                   file_path, file_size, agreement_version, document_types
            FROM bundle WHERE \(clause) ORDER BY created_at DESC, id\(limit.map { " LIMIT \($0)" } ?? "")
            """), arguments: SQLArguments(args)).map { row in
            guard let id = BundleID(lenient: row[0]) else {
                throw ClaimGateError(.io, "The gateway database holds a malformed bundle id: restore it from a backup.")
            }
            return BundleRecord(id: id, partnerID: try PartnerID(stored: row[1]), claimID: row[2], purpose: row[3],
                                state: BundleState(rawValue: row[4]) ?? .sealed,
                                created: try StoredDate.date(row[5]), expires: try StoredDate.date(row[6]), manifestJSON: row[7],
                                manifestSHA256: row[8], filePath: row[9], fileSize: row[10], agreementVersion: row[11],
                                documentTypes: (row[12] as String).split(separator: " ").map(String.init))
        }
    }

    // MARK: Events

    public func record(_ event: TransferEvent) throws {
        try commits.write { try Self.insert(event, $0) }
    }

    /// Events, oldest first.
    public func events(bundle: BundleID? = nil, partner: PartnerID? = nil) throws -> [StoredEvent] {
        let (whereSQL, args) = Self.filter([("bundle_id = ?", bundle?.description), ("partner_id = ?", partner?.rawValue)])
        return try db.read { db in
            try SQLRow.fetchAll(db, sql: "SELECT * FROM event \(whereSQL) ORDER BY seq", arguments: args).map {
                StoredEvent(sequence: $0["seq"], time: try StoredDate.date($0["time"]), actor: $0["actor"], action: $0["action"],
                            outcome: $0["outcome"], partnerID: $0["partner_id"], claimID: $0["claim_id"],
                            bundleID: $0["bundle_id"], purpose: $0["purpose"], reason: $0["reason"],
                            reasonCode: $0["reason_code"], subject: $0["subject"],
                            transport: $0["transport"], bytes: $0["bytes"])
            }
        }
    }

    /// A WHERE clause from the conditions whose value is given (each with one `?`).
    private static func filter(_ conditions: [(String, String?)]) -> (String, SQLArguments) {
        let given = conditions.compactMap { c in c.1.map { (c.0, $0) } }
        guard !given.isEmpty else { return ("", []) }
        return ("WHERE " + given.map(\.0).joined(separator: " AND "), SQLArguments(given.map(\.1)))
    }

    /// Appends `e` to the hash-chained event log inside the caller's transaction: the next
    /// sequence number and the previous entry's hash are read in the same transaction, so
    /// writers in several processes still form one chain.
    static func insert(_ e: TransferEvent, _ db: any SQLSession) throws {
        try appendAuditEntry(AuditEntry(event: e), reason: e.reason, db)
    }

    static func agreementJSON(_ a: PartnerAgreement) throws -> String { try json(a) }

    private static func json(_ a: PartnerAgreement) throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return String(decoding: try enc.encode(a), as: UTF8.self)
    }

    private static func decodeAgreement(_ text: String) throws -> PartnerAgreement {
        try JSONDecoder().decode(PartnerAgreement.self, from: Data(text.utf8))
    }
}

/// An event as stored, with its sequence number.
public struct StoredEvent: Sendable, Equatable, Codable {
    public let sequence: Int64
    public let time: Date
    public let actor: String
    public let action: String
    public let outcome: String
    public let partnerID: String?
    public let claimID: String?
    public let bundleID: String?
    public let purpose: String?
    /// The reason as recorded (and hashed), and its code and subject (columns).
    public let reason: String?
    public let reasonCode: String?
    public let subject: String?
    public let transport: String
    public let bytes: Int64?
}

/// Dates as stored: ISO-8601 UTC text with milliseconds (`2026-11-21T22:55:02.123Z`), which sorts
/// as text. Written and read here rather than by GRDB's Date support, whose DateFormatter loads
/// ICU (about 6 MiB of memory) into every process that touches the store.
enum StoredDate {
    static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    static func text(_ date: Date) -> String { date.formatted(style) }

    static func date(_ text: String) throws -> Date {
        guard let d = try? style.parse(text) else {
            throw ClaimGateError(.io, "The gateway database holds a malformed date '\(text.prefix(40))': restore it from a backup.")
        }
        return d
    }
}
