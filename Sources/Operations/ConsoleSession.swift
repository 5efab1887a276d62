import ClaimGateCore
import Foundation

/// An operator signed in to the web console. The token is the cookie's secret: the front end
/// sets it and never logs it; the store keeps only its SHA-256. The reference is public: audit
/// entries name it (`operator:<name>;session=<reference>`), so a reviewer can tell one session's
/// actions from another's.
public struct ConsoleSession: Sendable, Hashable {
    /// The session cookie's value: 32 random bytes, base64url.
    public var token: String
    /// 16 lowercase hex.
    public var reference: String
    public var operatorID: OperatorID
    /// Every form of a signed-in page carries it; a post without it is refused.
    public var csrfToken: String
    public var createdAt: Date
    public var lastSeen: Date

    /// Who the session's requests act as.
    public var principal: Principal { .consoleOperator(operatorID, session: reference) }

    public init(token: String, reference: String, operatorID: OperatorID, csrfToken: String, createdAt: Date, lastSeen: Date) {
        self.token = token; self.reference = reference; self.operatorID = operatorID; self.csrfToken = csrfToken
        self.createdAt = createdAt; self.lastSeen = lastSeen
    }
}
