import ClaimGateCore
import Foundation

/// Agreements and bundles over time: new agreement versions, partner status, recall, purge.
/// Each change is committed with its audit entry.
extension GatewayStore {
    /// Stores `agreement` as the partner's next version and makes it current.
    /// - Parameters:
    ///   - replacing: the version that must be current (a pending change proposed against it);
    ///     nil for any.
    ///   - settling: the pending change this applies, settled in the same transaction.
    /// - Returns: the partner as it now stands.
    public func addAgreementVersion(_ agreement: PartnerAgreement, source: String, at: Date, event: TransferEvent,
                                    replacing expected: Int? = nil, settling: ChangeSettlement? = nil) throws -> Partner {
        let json = try Self.agreementJSON(agreement)
        return try commits.write { db in
            if let settling { try Self.settle(settling, db) }
            guard let row = try SQLRow.fetchOne(db, sql: "SELECT status, current_version, onboarded_at FROM partner WHERE id = ?",
                                             arguments: [agreement.id.rawValue]) else {
                throw ClaimGateError(.unknownPartner, "Partner \(agreement.id) is not onboarded: use `claimgate partner add`.")
            }
            let status = PartnerStatus(rawValue: row["status"]) ?? .suspended
            guard status != .removed else {
                throw ClaimGateError(.invalidArgument, "Partner \(agreement.id) was removed; onboard it under a new id if it comes back.")
            }
            if let expected, expected != row["current_version"] as Int {
                throw ClaimGateError(.changeOutdated, "Partner \(agreement.id)'s agreement is at version \(row["current_version"] as Int) now, not version \(expected) the change was proposed against: withdraw it and propose it again.")
            }
            let version = (row["current_version"] as Int) + 1
            try db.execute(sql: """
                INSERT INTO partner_version(partner_id, version, agreement_json, source, recorded_at) VALUES (?, ?, ?, ?, ?)
                """, arguments: [agreement.id.rawValue, version, json, source, StoredDate.text(at)])
            try db.execute(sql: "UPDATE partner SET current_version = ?, name = ?, role = ? WHERE id = ?",
                           arguments: [version, agreement.name, agreement.role.rawValue, agreement.id.rawValue])
            try Self.insert(event, db)
            return Partner(agreement: agreement, status: status, version: version, onboardedAt: try StoredDate.date(row["onboarded_at"]))
        }
    }

    /// Changes a partner's status, from one of `from`, and records `event`.
    /// - Throws: when the partner is unknown or not in one of `from`.
    /// - Parameter settling: the pending change this applies, settled in the same transaction.
    public func setPartnerStatus(_ id: PartnerID, to status: PartnerStatus, from: Set<PartnerStatus>, event: TransferEvent,
                                 settling: ChangeSettlement? = nil) throws {
        try commits.write { db in
            if let settling { try Self.settle(settling, db) }
            guard let current = try String.fetchOne(db, sql: "SELECT status FROM partner WHERE id = ?", arguments: [id.rawValue]) else {
                throw ClaimGateError(.unknownPartner, "No partner '\(id)' is onboarded: see `claimgate partner list`.")
            }
            guard let s = PartnerStatus(rawValue: current), from.contains(s) else {
                throw ClaimGateError(.invalidArgument, "Partner \(id) is \(current), so it cannot become \(status.rawValue).")
            }
            try db.execute(sql: "UPDATE partner SET status = ? WHERE id = ?", arguments: [status.rawValue, id.rawValue])
            if status == .removed {
                // Nothing more goes to a removed partner.
                try db.execute(sql: """
                    UPDATE delivery SET state = 'cancelled', last_error_code = 'partner-removed',
                      last_error = 'The partner was removed.' WHERE partner_id = ? AND state = 'pending'
                    """, arguments: [id.rawValue])
            }
            try Self.insert(event, db)
        }
    }

    /// Bundles of a partner that are still waiting to be delivered, pulled or acknowledged.
    public func pendingBundleCount(of id: PartnerID, now: Date) throws -> Int {
        try db.read { db in
            try Int.fetchOne(db, sql: """
                SELECT count(*) FROM bundle WHERE partner_id = ? AND state IN ('queued', 'delivered') AND expires_at > ?
                """, arguments: [id.rawValue, StoredDate.text(now)]) ?? 0
        }
    }

    /// Marks a bundle recalled and cancels its pending delivery, with `event`, in one transaction.
    public func recallBundle(_ id: BundleID, event: TransferEvent) throws {
        try commits.write { db in
            let key = id.description
            guard let state = try String.fetchOne(db, sql: "SELECT state FROM bundle WHERE id = ?", arguments: [key]) else {
                throw ClaimGateError(.unknownBundle, "No bundle \(key): see `claimgate bundle list`.")
            }
            guard !["recalled", "purged"].contains(state) else {
                throw ClaimGateError(.invalidArgument, "Bundle \(key) is already \(state).")
            }
            try db.execute(sql: "UPDATE bundle SET state = 'recalled' WHERE id = ?", arguments: [key])
            try db.execute(sql: """
                UPDATE delivery SET state = 'cancelled', last_error_code = 'recalled', last_error = 'The bundle was recalled.'
                WHERE bundle_id = ? AND state = 'pending'
                """, arguments: [key])
            try Self.insert(event, db)
        }
    }

    /// Bundles whose files are due for destruction at `now`: recalled, or expired, and not yet
    /// purged. Bundles sealed to a file the operator named (`seal --out`, state `sealed`) are not
    /// the gateway's to destroy.
    public func bundlesToPurge(now: Date) throws -> [BundleRecord] {
        try db.read { db in
            try Self.fetchBundles(db, where: "state NOT IN ('purged', 'sealed') AND (state = 'recalled' OR expires_at <= ?)",
                                  [StoredDate.text(now)])
        }
    }

    /// Marks a bundle purged (its file destroyed) with its destruction entry, and replaces its
    /// stored manifest with the purged one (no metadata values).
    public func markPurged(_ id: BundleID, manifest: Data?, event: TransferEvent) throws {
        try commits.write { db in
            try db.execute(sql: "UPDATE bundle SET state = 'purged' WHERE id = ?", arguments: [id.description])
            if let manifest {
                try db.execute(sql: "UPDATE bundle SET manifest_json = ? WHERE id = ?", arguments: [manifest, id.description])
            }
            try db.execute(sql: """
                UPDATE delivery SET state = 'cancelled', last_error_code = 'purged', last_error = 'The bundle was purged.'
                WHERE bundle_id = ? AND state = 'pending'
                """, arguments: [id.description])
            try Self.insert(event, db)
        }
    }

    /// Accepted inbound reports received before `cutoff` whose documents are still kept.
    public func inboundReportsToPurge(receivedBefore cutoff: Date) throws -> [InboundReport] {
        try inboundReports().filter { $0.received < cutoff && $0.state != .purged }
    }

    /// Marks an inbound report's documents destroyed, with its entry, and replaces its stored
    /// manifest with the purged one.
    public func markInboundPurged(_ id: UUID, manifest: Data?, event: TransferEvent) throws {
        try commits.write { db in
            try db.execute(sql: "UPDATE inbound_report SET state = 'purged' WHERE id = ?", arguments: [id.uuidString.lowercased()])
            if let manifest {
                try db.execute(sql: "UPDATE inbound_report SET manifest_json = ? WHERE id = ?", arguments: [manifest, id.uuidString.lowercased()])
            }
            try Self.insert(event, db)
        }
    }

    /// Purged bundles and inbound reports whose stored manifest still holds a metadata value
    /// other than `[purged]` (purged before purges scrubbed manifests): `(table, id, manifest)`.
    public func purgedManifestsWithMetadata() throws -> [(table: PurgedRecord, id: String, manifest: Data)] {
        try db.read { db in
            var out: [(table: PurgedRecord, id: String, manifest: Data)] = []
            for table in PurgedRecord.allCases {
                switch db.dialect {
                case .sqlite:
                    let rows = try SQLRow.fetchAll(db, sql: """
                        SELECT id, manifest_json FROM \(table.rawValue) WHERE state = 'purged' AND manifest_json IS NOT NULL
                        AND json_valid(CAST(manifest_json AS TEXT)) AND EXISTS (
                            SELECT 1 FROM json_each(CAST(manifest_json AS TEXT), '$.metadata') WHERE value IS NOT '[purged]')
                        """)
                    out += rows.map { (table, $0["id"], $0["manifest_json"]) }
                case .postgresql:
                    // PostgreSQL has no json_valid before version 16: the manifests are judged here.
                    let rows = try SQLRow.fetchAll(db, sql: """
                        SELECT id, manifest_json FROM \(table.rawValue) WHERE state = 'purged' AND manifest_json IS NOT NULL
                        """)
                    out += rows.filter { Self.holdsMetadataValues($0["manifest_json"]) }.map { (table, $0["id"], $0["manifest_json"]) }
                }
            }
            return out
        }
    }

    /// Whether `manifest` is JSON whose `metadata` object holds a value other than `[purged]`.
    static func holdsMetadataValues(_ manifest: Data) -> Bool {
        guard let object = try? JSONSerialization.jsonObject(with: manifest) as? [String: Any],
              let metadata = object["metadata"] as? [String: Any] else { return false }
        return metadata.values.contains { ($0 as? String) != "[purged]" }
    }

    /// Replaces a purged record's stored manifest with its scrubbed form.
    public func replacePurgedManifest(_ table: PurgedRecord, id: String, with manifest: Data) throws {
        try commits.write { db in
            try db.execute(sql: "UPDATE \(table.rawValue) SET manifest_json = ? WHERE id = ? AND state = 'purged'", arguments: [manifest, id])
        }
    }

    /// The tables whose rows a purge scrubs.
    public enum PurgedRecord: String, CaseIterable, Sendable {
        case bundle
        case inboundReport = "inbound_report"
    }
}
