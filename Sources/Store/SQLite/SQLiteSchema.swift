import Audit
import ClaimGateCore
import Foundation
import GRDB

/// The SQLite schema: GRDB migrations, in order, from the first release's tables on. Each runs
/// in one transaction, once.
enum SQLiteSchema {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.create(table: "gateway_setting") { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
            }
            try db.create(table: "partner") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("role", .text).notNull()
                t.column("status", .text).notNull()
                t.column("current_version", .integer).notNull()
                t.column("onboarded_at", .text).notNull()
            }
            try db.create(table: "partner_version") { t in
                t.column("partner_id", .text).notNull().references("partner")
                t.column("version", .integer).notNull()
                t.column("agreement_json", .text).notNull()
                t.column("source", .text).notNull()
                t.column("recorded_at", .text).notNull()
                t.primaryKey(["partner_id", "version"])
            }
            try db.create(table: "bundle") { t in
                t.primaryKey("id", .text)
                t.column("partner_id", .text).notNull().references("partner").indexed()
                t.column("claim_id", .text).notNull().indexed()
                t.column("purpose", .text).notNull()
                t.column("state", .text).notNull()
                t.column("created_at", .text).notNull()
                t.column("expires_at", .text).notNull()
                t.column("manifest_json", .blob).notNull()
                t.column("manifest_sha256", .text).notNull()
                t.column("file_path", .text).notNull()
                t.column("file_size", .integer).notNull()
                t.column("agreement_version", .integer).notNull()
            }
            try db.create(table: "event") { t in
                t.autoIncrementedPrimaryKey("seq")
                t.column("time", .text).notNull()
                t.column("actor", .text).notNull()
                t.column("action", .text).notNull()
                t.column("outcome", .text).notNull()
                t.column("partner_id", .text).indexed()
                t.column("claim_id", .text).indexed()
                t.column("bundle_id", .text).indexed()
                t.column("purpose", .text)
                t.column("document_digests", .text).notNull()
                t.column("bytes", .integer)
                t.column("reason", .text)
                t.column("transport", .text).notNull()
                t.column("client_address", .text)
            }
        }
        m.registerMigration("v2-deliveries") { db in
            try db.create(table: "delivery") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("bundle_id", .text).notNull().unique().references("bundle")
                t.column("partner_id", .text).notNull().indexed()
                t.column("transport", .text).notNull()
                t.column("target", .text).notNull()
                t.column("state", .text).notNull().indexed()
                t.column("attempts", .integer).notNull()
                t.column("last_attempt_at", .text)
                t.column("last_error_code", .text)
                t.column("last_error", .text)
                t.column("delivered_at", .text)
                t.column("created_at", .text).notNull()
            }
        }
        m.registerMigration("v3-inbound") { db in
            try db.create(table: "inbound_report") { t in
                t.primaryKey("id", .text)
                t.column("partner_id", .text).notNull().indexed()
                t.column("file_name", .text).notNull()
                t.column("received_at", .text).notNull()
                t.column("bytes", .integer).notNull()
                t.column("state", .text).notNull()
                t.column("reason", .text)
                t.column("transport", .text).notNull()
                t.column("bundle_id", .text)
                t.column("claim_id", .text).indexed()
                t.column("purpose", .text)
                t.column("manifest_json", .blob)
                t.column("stored_path", .text).notNull()
            }
        }
        m.registerMigration("v4-inbound-unique") { db in
            // A report (bundle id) is accepted at most once, even from two sessions at once.
            try db.execute(sql: """
                CREATE UNIQUE INDEX inbound_report_accepted_bundle ON inbound_report(bundle_id) WHERE state = 'accepted'
                """)
        }
        m.registerMigration("v5-bundle-file-digest") { db in
            try db.alter(table: "bundle") { t in t.add(column: "file_sha256", .text) }
        }
        m.registerMigration("v6-audit-chain") { db in try migrateToAuditChain(db) }
        m.registerMigration("v7-event-time-index") { db in
            // Monthly reviews and exports by time read one month, not the whole trail.
            try db.execute(sql: "CREATE INDEX event_time ON event(time)")
        }
        m.registerMigration("v8-bundle-document-types") { db in
            // Purpose limitation at every access: each listing and download checks the bundle's
            // media types against the agreement as it stands, without reading the manifest.
            try db.alter(table: "bundle") { t in t.add(column: "document_types", .text).notNull().defaults(to: "") }
            let rows = try Row.fetchAll(db, sql: "SELECT id, manifest_json FROM bundle")
            for row in rows {
                let types = BundleRecord.documentTypes(ofManifest: row[1]).joined(separator: " ")
                try db.execute(sql: "UPDATE bundle SET document_types = ? WHERE id = ?", arguments: [types, row[0] as String])
            }
        }
        // Reasons as columns: a closed code and a subject beside the hashed text.
        m.registerMigration("v9-event-reason-columns") { db in try migrateToReasonColumns(db) }
        // How the trail began: with a genesis entry (a new store), or before there was one.
        m.registerMigration("v10-audit-origin") { db in try migrateToAuditOrigin(db) }
        // Operators with roles, grants, a partner scope and their certificate on record.
        m.registerMigration("v11-operators") { db in try migrateToOperators(db) }
        // Operators' entries indexed apart, for the grants review of `audit report`.
        m.registerMigration("v12-operator-actor-index") { db in try migrateToOperatorActorIndex(db) }
        // Four eyes: changes waiting for a second operator.
        m.registerMigration("v13-pending-changes") { db in try migrateToPendingChanges(db) }
        // The last use of each operator's roles and grants, reads included, for the grants review.
        m.registerMigration("v14-operator-right-use") { db in try migrateToRightUses(db) }
        // Operators' certificates themselves (public), to hand them out again.
        m.registerMigration("v15-operator-certificate") { db in try migrateToOperatorCertificates(db) }
        // The web console: operators' passwords and TOTP secrets, and console sessions.
        m.registerMigration("v16-console") { db in try migrateToConsole(db) }
        // Leases of the jobs one node runs at a time (GatewayStore+Leases).
        m.registerMigration("v17-job-lease") { db in
            try db.create(table: "job_lease") { t in
                t.primaryKey("job", .text)
                t.column("holder", .text).notNull()
                t.column("fence", .integer).notNull()
                t.column("expires_at", .text).notNull()
            }
        }
        return m
    }

    /// Adds the chain columns and the checkpoint table, and chains the events already recorded.
    static func migrateToAuditChain(_ db: Database) throws {
        try db.alter(table: "event") { t in
            t.add(column: "prev_hash", .blob)
            t.add(column: "hash", .blob)
        }
        try db.create(table: "audit_checkpoint") { t in
            t.primaryKey("seq", .integer)
            t.column("head_hash", .blob).notNull()
            t.column("time", .text).notNull()
            t.column("key_id", .text).notNull()
            t.column("signature", .blob).notNull()
        }
        var chain = AuditChain()
        let rows = try Row.fetchAll(db, sql: "SELECT * FROM event ORDER BY seq")
        for row in rows {
            let appended = chain.append(GatewayStore.entry(SQLiteSession.row(row)))
            try db.execute(sql: "UPDATE event SET prev_hash = ?, hash = ? WHERE seq = ?",
                           arguments: [Data(appended.previousHash), Data(appended.hash), row["seq"] as Int64])
        }
        // Nothing may change or remove a recorded entry through SQL by accident; a deliberate
        // attacker with the file can, and the chain and checkpoints are what reveal it.
        try db.execute(sql: """
            CREATE TRIGGER event_no_update BEFORE UPDATE ON event
            BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
            CREATE TRIGGER event_no_delete BEFORE DELETE ON event
            BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
            """)
    }

    /// Adds `reason_code` and `subject` to the event table and fills them for the entries already
    /// recorded, from their reason text (`EventReason.parse`). Only the new columns are written:
    /// no hashed field changes, so every earlier entry still verifies. The append-only update
    /// trigger is lifted for this migration and put back in the same transaction (GRDB runs each
    /// migration in one), so no other connection ever sees the table without it.
    static func migrateToReasonColumns(_ db: Database) throws {
        try db.execute(sql: "DROP TRIGGER IF EXISTS event_no_update")
        try db.alter(table: "event") { t in
            t.add(column: "reason_code", .text)
            t.add(column: "subject", .text)
        }
        let rows = try Row.fetchAll(db, sql: "SELECT seq, action, reason FROM event WHERE reason IS NOT NULL")
        let update = try db.makeStatement(sql: "UPDATE event SET reason_code = ?, subject = ? WHERE seq = ?")
        for row in rows {
            let r = EventReason.parse(recorded: row["reason"], action: row["action"])
            try update.execute(arguments: [r.code.rawValue, r.subject, row["seq"] as Int64])
        }
        try db.execute(sql: """
            CREATE TRIGGER event_no_update BEFORE UPDATE ON event
            BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
            CREATE INDEX event_reason_code ON event(reason_code) WHERE reason_code IS NOT NULL;
            """)
    }

    /// Records how the trail began, in the setting `audit_origin`: `genesis` for a new store
    /// (its first entry will be the genesis entry `init` writes), or `legacy:<N>` for a store
    /// whose trail already held entries 1…N, recorded before there was a genesis entry. No
    /// history is invented for such a trail: it keeps no genesis entry, and is held to having at
    /// least those N entries.
    static func migrateToAuditOrigin(_ db: Database) throws {
        let last = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM event") ?? 0
        try db.execute(sql: """
            INSERT INTO gateway_setting(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value
            """, arguments: [GatewayStore.auditOriginSetting, last == 0 ? "genesis" : "legacy:\(last)"])
    }

    /// Migration `v11-operators`: the operator table.
    static func migrateToOperators(_ db: Database) throws {
        try db.create(table: "operator") { t in
            t.primaryKey("name", .text)
            /// Comma-separated, sorted; empty for none.
            t.column("roles", .text).notNull()
            t.column("grants", .text).notNull()
            /// Comma-separated partner ids; NULL for every partner.
            t.column("partners", .text)
            t.column("cert_fingerprint", .text).notNull().unique()
            t.column("cert_serial", .text).notNull()
            t.column("cert_not_after", .text).notNull()
            t.column("state", .text).notNull()
            t.column("created_by", .text).notNull()
            t.column("created_at", .text).notNull()
            t.column("changed_by", .text).notNull()
            t.column("changed_at", .text).notNull()
        }
    }

    /// Migration `v15-operator-certificate`: the operator's certificate itself (PEM), public
    /// material kept so that it can be handed out again (`operator certificate`). NULL for an
    /// operator added before it.
    static func migrateToOperatorCertificates(_ db: Database) throws {
        try db.alter(table: "operator") { t in t.add(column: "cert_pem", .text) }
    }

    /// Migration `v13-pending-changes`: the `pending_change` table.
    static func migrateToPendingChanges(_ db: Database) throws {
        try db.create(table: "pending_change") { t in
            t.primaryKey("id", .text)
            t.column("action", .text).notNull()
            t.column("partner_id", .text)
            t.column("target", .text).notNull()
            t.column("summary", .text).notNull()
            t.column("proposed_by", .text).notNull()
            /// The proposing operator's name; NULL when not an operator.
            t.column("proposer", .text)
            t.column("created_at", .text).notNull()
            t.column("expires_at", .text).notNull()
            t.column("state", .text).notNull()
            t.column("settled_by", .text)
            t.column("settled_at", .text)
            /// JSON written by the operations: everything needed to apply the change.
            t.column("payload", .text).notNull()
        }
        try db.create(index: "pending_change_state", on: "pending_change", columns: ["state", "created_at"])
    }

    /// Migration `v14-operator-right-use`: the `operator_right_use` table.
    static func migrateToRightUses(_ db: Database) throws {
        try db.create(table: "operator_right_use", options: [.withoutRowID]) { t in
            t.column("operator_name", .text).notNull()
            /// A role (`auditor`…) or a grant (`inbox-export`).
            t.column("right_name", .text).notNull()
            /// `YYYY-MM` of `last_used` (UTC): a review of an earlier month still finds the
            /// last use before its end.
            t.column("month", .text).notNull()
            /// Audit-format time (`YYYY-MM-DDTHH:MM:SS.mmmZ`), the latest use in the month.
            t.column("last_used", .text).notNull()
            /// The action (`OperatorAction`) of that use.
            t.column("last_action", .text).notNull()
            t.primaryKey(["operator_name", "right_name", "month"])
        }
    }

    /// Migration `v16-console`.
    static func migrateToConsole(_ db: Database) throws {
        try db.create(table: "operator_console") { t in
            t.primaryKey("name", .text).references("operator", column: "name")
            t.column("password_hash", .text)
            t.column("password_set_at", .text)
            t.column("totp_secret", .text)
            t.column("totp_enrolled_at", .text)
            t.column("totp_last_step", .integer).notNull().defaults(to: 0)
            t.column("failures", .integer).notNull().defaults(to: 0)
            t.column("locked_until", .text)
        }
        try db.create(table: "console_session") { t in
            t.primaryKey("token_sha256", .text)
            /// Public: named in the audit actor (`operator:<name>;session=<reference>`).
            t.column("reference", .text).notNull().unique()
            t.column("operator", .text).notNull().references("operator", column: "name").indexed()
            t.column("csrf_token", .text).notNull()
            t.column("created_at", .text).notNull()
            t.column("last_seen", .text).notNull()
            t.column("address", .text).notNull()
        }
    }

    /// Migration `v12-operator-actor-index`: a partial index of the entries whose actor is an
    /// operator (`operator:<name>;sha256=…`). It holds only those entries, so appends by partners
    /// and the system do not pay for it, and the grants review finds each operator's last use of
    /// its rights without reading the rest of the trail. No column is added: nothing to backfill
    /// and nothing new for `audit verify` to check.
    static func migrateToOperatorActorIndex(_ db: Database) throws {
        try db.execute(sql: "CREATE INDEX event_operator_actor ON event(actor, action, time) WHERE \(GatewayStore.operatorActorTerms)")
    }
}
