/// A partner's identifier: `[a-z0-9-]{2,64}`. It is also the partner's SSH user name.
public struct PartnerID: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let rawValue: String

    public init(_ raw: String) throws {
        try self.init(raw, valid: Self.isValid(raw))
    }

    private init(_ raw: String, valid: Bool) throws {
        guard valid else {
            throw ClaimGateError(.invalidAgreement,
                "Partner id '\(raw.prefix(80))' is not valid: use 2 to 64 characters from a-z, 0-9 and '-', starting with a letter or digit.")
        }
        rawValue = raw
    }

    /// A partner id as the store holds it. Ids onboarded before they had to start with a letter
    /// or digit still read (so the gateway can list, suspend and remove them); nothing new can
    /// be onboarded with one.
    public init(stored raw: String) throws {
        try self.init(raw, valid: Self.isValidBefore2026_12(raw))
    }

    /// 2 to 64 characters from a-z, 0-9 and '-', the first a letter or digit (an id starting
    /// with '-' reads as an option on every command line: `claimgate partner show -x`).
    public static func isValid(_ raw: String) -> Bool {
        isValidBefore2026_12(raw) && raw.utf8.first != 0x2d
    }

    private static func isValidBefore2026_12(_ raw: String) -> Bool {
        (2...64).contains(raw.utf8.count)
            && raw.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d }
    }

    /// Decoded as stored: agreements the store holds may name an id from before the first
    /// character rule (every new id comes through `init(_:)`).
    public init(from decoder: Decoder) throws {
        try self.init(stored: decoder.singleValueContainer().decode(String.self))
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
    public var description: String { rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}
