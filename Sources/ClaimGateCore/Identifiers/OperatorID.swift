/// An operator's name: 1 to 64 characters from a-z, 0-9, '-', '.' and '_', the first a letter.
/// It is the subject CN of the operator's client certificate and how the audit trail names the
/// operator (`operator:<name>;sha256=<fingerprint>`).
public struct OperatorID: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let rawValue: String

    /// - Throws: `ClaimGateError(.invalidArgument)` when `raw` is not a valid operator name.
    public init(_ raw: String) throws {
        guard Self.isValid(raw) else {
            throw ClaimGateError(.invalidArgument,
                "Operator name '\(EventReason.bounded(String(raw.prefix(80))))' is not valid: use 1 to 64 characters from a-z, 0-9, '-', '.' and '_', starting with a letter.")
        }
        rawValue = raw
    }

    /// 1 to 64 characters from a-z, 0-9, '-', '.' and '_', the first a letter (so a name never
    /// reads as an option or a path, and is the same in every case-insensitive system).
    public static func isValid(_ raw: String) -> Bool {
        let u = raw.utf8
        guard (1...64).contains(u.count), let first = u.first, first >= 0x61 && first <= 0x7a else { return false }
        return u.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d || $0 == 0x2e || $0 == 0x5f }
    }

    public init(from decoder: Decoder) throws {
        try self.init(decoder.singleValueContainer().decode(String.self))
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
    public var description: String { rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}
