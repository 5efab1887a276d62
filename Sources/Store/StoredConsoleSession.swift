import ClaimGateCore
import Foundation

/// A console session as stored: never the cookie itself, only its SHA-256.
public struct StoredConsoleSession: Sendable, Hashable {
    public var tokenSHA256: String
    public var reference: String
    public var operatorID: OperatorID
    public var csrfToken: String
    public var createdAt: Date
    public var lastSeen: Date
    /// The client address it signed in from.
    public var address: String

    public init(tokenSHA256: String, reference: String, operatorID: OperatorID, csrfToken: String, createdAt: Date, lastSeen: Date, address: String) {
        self.tokenSHA256 = tokenSHA256; self.reference = reference; self.operatorID = operatorID; self.csrfToken = csrfToken
        self.createdAt = createdAt; self.lastSeen = lastSeen; self.address = address
    }
}
