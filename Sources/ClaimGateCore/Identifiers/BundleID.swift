import Foundation

/// A bundle's identity: a random UUID, always spelled in lowercase wherever it appears (the
/// manifest, file names `<id>.p7m`, the partner API, the audit trail, the database), so that one
/// bundle has one spelling and a comparison of spellings is a comparison of bundles.
public struct BundleID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let uuid: UUID

    public init(_ uuid: UUID) { self.uuid = uuid }

    /// A new, random bundle id.
    public static func random() -> BundleID { BundleID(UUID()) }

    /// The canonical spelling only (lowercase, hyphenated): what partners must send, so that a
    /// request for another spelling of an id is not the same request.
    public init?(_ text: some StringProtocol) {
        guard text.utf8.count == 36, let uuid = UUID(uuidString: String(text)), uuid.uuidString.lowercased() == text else { return nil }
        self.uuid = uuid
    }

    /// Any spelling of a UUID, as an operator may paste it (`bundle show ABCD…`).
    public init?(lenient text: String) {
        guard let uuid = UUID(uuidString: text.trimmingCharacters(in: .whitespaces)) else { return nil }
        self.uuid = uuid
    }

    /// `<id>.p7m`, with the id in its canonical spelling; nil for any other name.
    public init?(fileName name: String) {
        guard name.hasSuffix(".p7m") else { return nil }
        self.init(name.dropLast(4))
    }

    /// The lowercase spelling.
    public var description: String { uuid.uuidString.lowercased() }

    /// The bundle's file name: `<id>.p7m`.
    public var fileName: String { description + ".p7m" }

    public static func < (a: BundleID, b: BundleID) -> Bool { a.description < b.description }
}

extension BundleID: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        guard let id = BundleID(lenient: try c.decode(String.self)) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a bundle id (a UUID)")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
