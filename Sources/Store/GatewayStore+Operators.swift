import ClaimGateCore
import Foundation

/// Operators: who may act through the gateway's operations with a client certificate from the
/// operator CA, with which roles, grants and partner scope. Read at every action (no cache), so
/// a change made while `serve` runs is in force at the next request.
extension GatewayStore {


    /// The certificate on record of operator `id` (PEM), as issued; nil when there is no such
    /// operator or it was added before the gateway kept certificates.
    public func operatorCertificatePEM(_ id: OperatorID) throws -> String? {
        try db.read { try String.fetchOne($0, sql: "SELECT cert_pem FROM operator WHERE name = ?", arguments: [id.rawValue]) }
    }

    /// Stores a new operator and records `event`, in one transaction.
    /// - Throws: `operator-exists` when the name is taken (also by a removed operator).
    /// - Parameter settling: the pending change this applies, settled in the same transaction.
    /// - Parameter certificatePEM: the certificate issued (PEM), kept beside its fingerprint.
    public func insertOperator(_ op: Operator, certificatePEM: String? = nil, event: TransferEvent, settling: ChangeSettlement? = nil) throws {
        try commits.write { db in
            if let settling { try Self.settle(settling, db) }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM operator WHERE name = ?", arguments: [op.id.rawValue]) == true {
                throw ClaimGateError(.operatorExists, "Operator \(op.id) exists (names of removed operators stay taken): choose another name, or see `claimgate operator show \(op.id)`.")
            }
            try db.execute(sql: """
                INSERT INTO operator(name, roles, grants, partners, cert_fingerprint, cert_serial, cert_not_after, state,
                                     created_by, created_at, changed_by, changed_at, cert_pem)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: Self.columns(op) + [certificatePEM])
            try Self.insert(event, db)
        }
    }

    /// Changes an operator and records the event `describe` builds from it before and after, in
    /// one transaction. `change` may throw to refuse (nothing is stored then).
    /// - Parameter settling: the pending change this applies, settled in the same transaction.
    /// - Returns: the operator as stored.
    @discardableResult
    public func updateOperator(_ id: OperatorID, change: @escaping (inout Operator) throws -> Void,
                               event describe: @escaping (_ before: Operator, _ after: Operator) -> TransferEvent,
                               settling: ChangeSettlement? = nil) throws -> Operator {
        try commits.write { db in
            if let settling { try Self.settle(settling, db) }
            guard let before = try Self.fetchOperators(db, where: "name = ?", [id.rawValue]).first else {
                throw ClaimGateError(.unknownOperator, "There is no operator \(id): see `claimgate operator list`.")
            }
            var after = before
            try change(&after)
            let event = describe(before, after)
            after.changedBy = event.actor.description
            after.changedAt = event.time
            try db.execute(sql: """
                UPDATE operator SET roles = ?, grants = ?, partners = ?, cert_fingerprint = ?, cert_serial = ?, cert_not_after = ?,
                                    state = ?, changed_by = ?, changed_at = ? WHERE name = ?
                """, arguments: [Self.list(after.roles.map(\.rawValue)), Self.list(after.grants.map(\.rawValue)),
                                 after.partners.map { Self.list($0.map(\.rawValue)) }, after.certificate.fingerprint,
                                 after.certificate.serial, StoredDate.text(after.certificate.notAfter), after.state.rawValue,
                                 after.changedBy, StoredDate.text(after.changedAt), id.rawValue])
            try Self.insert(event, db)
            return after
        }
    }

    /// The operator named `id`, as stored now (removed ones too); nil when there is none.
    public func `operator`(_ id: OperatorID) throws -> Operator? {
        try db.read { try Self.fetchOperators($0, where: "name = ?", [id.rawValue]).first }
    }

    /// Every operator, by name (removed ones too).
    public func operators() throws -> [Operator] {
        try db.read { try Self.fetchOperators($0, where: "TRUE", []) }
    }

    private static func list(_ values: [String]) -> String { values.sorted().joined(separator: ",") }

    private static func columns(_ op: Operator) -> SQLArguments {
        [op.id.rawValue, list(op.roles.map(\.rawValue)), list(op.grants.map(\.rawValue)), op.partners.map { list($0.map(\.rawValue)) },
         op.certificate.fingerprint, op.certificate.serial, StoredDate.text(op.certificate.notAfter), op.state.rawValue,
         op.createdBy, StoredDate.text(op.createdAt), op.changedBy, StoredDate.text(op.changedAt)]
    }

    private static func fetchOperators(_ db: any SQLSession, where clause: String, _ args: [any SQLEncodable]) throws -> [Operator] {
        try SQLRow.fetchAll(db, sql: "SELECT * FROM operator WHERE \(clause) ORDER BY name", arguments: SQLArguments(args)).map { row in
            func split(_ text: String) -> [String] { text.split(separator: ",").map(String.init) }
            let name: String = row["name"]
            // What this gateway wrote reads back; anything else is a damaged database. An
            // unreadable role or grant reads as none (refusing more, never allowing more).
            guard let id = try? OperatorID(name), let state = OperatorState(rawValue: row["state"]) else {
                throw ClaimGateError(.io, "The gateway database holds a malformed operator '\(EventReason.bounded(String(name.prefix(64))))': restore it from a backup.")
            }
            let partnersText: String? = row["partners"]
            return Operator(
                id: id, roles: Set(split(row["roles"]).compactMap(Role.init(rawValue:))),
                grants: Set(split(row["grants"]).compactMap(OperatorGrant.init(rawValue:))),
                partners: try partnersText.map { Set(try split($0).map { try PartnerID(stored: $0) }) },
                certificate: OperatorCertificate(fingerprint: row["cert_fingerprint"], serial: row["cert_serial"],
                                                 notAfter: try StoredDate.date(row["cert_not_after"])),
                state: state, createdBy: row["created_by"], createdAt: try StoredDate.date(row["created_at"]),
                changedBy: row["changed_by"], changedAt: try StoredDate.date(row["changed_at"]))
        }
    }
}
