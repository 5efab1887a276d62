import ClaimGateCore
import Foundation

/// The web console's state: each operator's console credentials (a bcrypt hash, the TOTP secret,
/// the last code's step, failures and lock) and the sessions signed in. Sessions live in the
/// store, not in a process, so that any node can serve any request. A session is found by the
/// SHA-256 of its cookie: the database never holds a cookie a thief could replay.
extension GatewayStore {

    /// The console credentials of operator `id`; nil when none were ever set.
    public func consoleCredentials(_ id: OperatorID) throws -> ConsoleCredentials? {
        try db.read { db in try Self.credentials(id, db) }
    }

    private static func credentials(_ id: OperatorID, _ db: any SQLSession) throws -> ConsoleCredentials? {
        guard let row = try SQLRow.fetchOne(db, sql: "SELECT * FROM operator_console WHERE name = ?", arguments: [id.rawValue]) else { return nil }
        func date(_ column: String) throws -> Date? { try (row[column] as String?).map(StoredDate.date) }
        return ConsoleCredentials(operatorID: id, passwordHash: row["password_hash"], passwordSetAt: try date("password_set_at"),
                                  totpSecret: row["totp_secret"], totpEnrolledAt: try date("totp_enrolled_at"),
                                  totpLastStep: row["totp_last_step"], failures: row["failures"], lockedUntil: try date("locked_until"))
    }

    private static func ensureRow(_ id: OperatorID, _ db: any SQLSession) throws {
        try db.execute(sql: "INSERT INTO operator_console(name) VALUES (?) ON CONFLICT(name) DO NOTHING", arguments: [id.rawValue])
    }

    /// Sets operator `id`'s console password (its bcrypt hash), clears its failures and lock, ends
    /// its console sessions, and records `event`, in one transaction.
    public func setConsolePassword(_ id: OperatorID, hash: String, at time: Date, event: TransferEvent) throws {
        try commits.write { db in
            try Self.ensureRow(id, db)
            try db.execute(sql: """
                UPDATE operator_console SET password_hash = ?, password_set_at = ?, failures = 0, locked_until = NULL WHERE name = ?
                """, arguments: [hash, StoredDate.text(time), id.rawValue])
            try db.execute(sql: "DELETE FROM console_session WHERE operator = ?", arguments: [id.rawValue])
            try Self.insert(event, db)
        }
    }

    /// Enrols a new TOTP secret for operator `id` (the previous one stops working), ends its
    /// console sessions, and records `event`, in one transaction.
    public func setConsoleTOTP(_ id: OperatorID, secret: String, at time: Date, event: TransferEvent) throws {
        try commits.write { db in
            try Self.ensureRow(id, db)
            try db.execute(sql: """
                UPDATE operator_console SET totp_secret = ?, totp_enrolled_at = ?, totp_last_step = 0 WHERE name = ?
                """, arguments: [secret, StoredDate.text(time), id.rawValue])
            try db.execute(sql: "DELETE FROM console_session WHERE operator = ?", arguments: [id.rawValue])
            try Self.insert(event, db)
        }
    }

    /// Counts one more failure for operator `id` (when it has console credentials), locks it
    /// until the date `lock` gives for the failures counted before this one (nil: no lock yet),
    /// ending its sessions when it locks, and records the event `event` makes of that lock, in one
    /// transaction (so two nodes counting at once cannot both miss the fifth).
    /// - Returns: the lock, when this failure set one.
    @discardableResult
    public func noteConsoleFailure(_ id: OperatorID?, lock: @escaping (Int) -> Date?,
                                   event: @escaping (Date?) -> TransferEvent) throws -> Date? {
        try commits.write { db in
            var lockedUntil: Date?
            if let id, let stored = try Self.credentials(id, db) {
                lockedUntil = lock(stored.failures)
                try db.execute(sql: "UPDATE operator_console SET failures = failures + 1, locked_until = COALESCE(?, locked_until) WHERE name = ?",
                               arguments: [lockedUntil.map(StoredDate.text), id.rawValue])
                if lockedUntil != nil {
                    try db.execute(sql: "DELETE FROM console_session WHERE operator = ?", arguments: [id.rawValue])
                }
            }
            try Self.insert(event(lockedUntil), db)
            return lockedUntil
        }
    }

    /// Takes TOTP step `step` for operator `id` if no later or equal step was taken (a code is
    /// accepted once, across every node), clears its failures, and, for a sign-in, stores
    /// `session`; records `event`; all in one transaction.
    /// - Returns: false when the step was already used (nothing is changed or recorded).
    public func acceptConsoleCode(_ id: OperatorID, step: Int64, session: StoredConsoleSession?, event: TransferEvent) throws -> Bool {
        try commits.write { db in
            try db.execute(sql: """
                UPDATE operator_console SET totp_last_step = ?, failures = 0, locked_until = NULL WHERE name = ? AND totp_last_step < ?
                """, arguments: [step, id.rawValue, step])
            guard db.changesCount == 1 else { return false }
            if let s = session {
                try db.execute(sql: """
                    INSERT INTO console_session(token_sha256, reference, operator, csrf_token, created_at, last_seen, address)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [s.tokenSHA256, s.reference, s.operatorID.rawValue, s.csrfToken, StoredDate.text(s.createdAt),
                                     StoredDate.text(s.lastSeen), s.address])
            }
            try Self.insert(event, db)
            return true
        }
    }

    /// The session whose cookie hashes to `tokenSHA256`; nil when there is none.
    public func consoleSession(tokenSHA256: String) throws -> StoredConsoleSession? {
        try db.read { db in
            guard let row = try SQLRow.fetchOne(db, sql: "SELECT * FROM console_session WHERE token_sha256 = ?", arguments: [tokenSHA256]),
                  let id = try? OperatorID(row["operator"] as String) else { return nil }
            return StoredConsoleSession(tokenSHA256: row["token_sha256"], reference: row["reference"], operatorID: id,
                                        csrfToken: row["csrf_token"], createdAt: try StoredDate.date(row["created_at"]),
                                        lastSeen: try StoredDate.date(row["last_seen"]), address: row["address"])
        }
    }

    /// Notes that the session was used at `time`.
    public func touchConsoleSession(tokenSHA256: String, at time: Date) throws {
        try commits.write { db in
            try db.execute(sql: "UPDATE console_session SET last_seen = ? WHERE token_sha256 = ?",
                           arguments: [StoredDate.text(time), tokenSHA256])
        }
    }

    /// Ends a session, recording `event` when given, in one transaction.
    /// - Returns: whether there was such a session.
    @discardableResult
    public func endConsoleSession(tokenSHA256: String, event: TransferEvent?) throws -> Bool {
        try commits.write { db in
            try db.execute(sql: "DELETE FROM console_session WHERE token_sha256 = ?", arguments: [tokenSHA256])
            guard db.changesCount == 1 else { return false }
            if let event { try Self.insert(event, db) }
            return true
        }
    }

    /// Ends every session last used before `time` (idle), and every session of an operator that
    /// is no longer active.
    /// - Returns: how many were ended.
    @discardableResult
    public func endIdleConsoleSessions(lastSeenBefore time: Date) throws -> Int {
        try commits.write { db in
            try db.execute(sql: """
                DELETE FROM console_session WHERE last_seen < ?
                   OR operator IN (SELECT name FROM operator WHERE state <> 'active')
                """, arguments: [StoredDate.text(time)])
            return db.changesCount
        }
    }
}
