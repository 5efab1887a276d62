import Foundation

/// The signed description of a bundle: who sent it to whom, under which agreement, for what
/// purpose, until when, and exactly which documents it holds. Stored as `manifest.json`, the last
/// entry of the bundle's tar archive (see docs/bundle-format.md).
public struct BundleManifest: Sendable, Codable, Equatable {
    /// Most documents in one bundle: sealing refuses more, and opening refuses an archive with
    /// more before the signature is checked (each one costs a file and an fsync).
    public static let maxDocuments = 10_000
    public static let currentFormat = "claimgate-bundle/1"

    public struct Sender: Sendable, Codable, Equatable {
        public var gatewayID: String
        /// SHA-256 of the DER signing certificate, lowercase hex.
        public var signingCertificateSHA256: String
        enum CodingKeys: String, CodingKey {
            case gatewayID = "gateway_id"
            case signingCertificateSHA256 = "signing_certificate_sha256"
        }
        public init(gatewayID: String, signingCertificateSHA256: String) {
            self.gatewayID = gatewayID; self.signingCertificateSHA256 = signingCertificateSHA256
        }
    }

    public struct Recipient: Sendable, Codable, Equatable {
        public var partnerID: String
        /// SHA-256 of the DER encryption certificate, lowercase hex.
        public var encryptionCertificateSHA256: String
        enum CodingKeys: String, CodingKey {
            case partnerID = "partner_id"
            case encryptionCertificateSHA256 = "encryption_certificate_sha256"
        }
        public init(partnerID: String, encryptionCertificateSHA256: String) {
            self.partnerID = partnerID; self.encryptionCertificateSHA256 = encryptionCertificateSHA256
        }
    }

    public struct Document: Sendable, Codable, Equatable {
        /// File name inside `documents/`.
        public var name: String
        public var mediaType: String
        public var size: Int64
        /// SHA-256 of the content, lowercase hex.
        public var sha256: String
        enum CodingKeys: String, CodingKey {
            case name, size, sha256
            case mediaType = "media_type"
        }
        public init(name: String, mediaType: String, size: Int64, sha256: String) {
            self.name = name; self.mediaType = mediaType; self.size = size; self.sha256 = sha256
        }
    }

    public var format: String
    public var bundleID: BundleID
    public var claimID: String
    public var sender: Sender
    public var recipient: Recipient
    public var agreementReference: String
    public var purpose: String
    public var consentReference: String?
    public var created: Date
    public var expires: Date
    /// Free metadata from `--meta`; fields listed in the agreement's `masking` are masked.
    public var metadata: [String: String]
    public var documents: [Document]

    enum CodingKeys: String, CodingKey {
        case format, purpose, created, expires, metadata, documents, sender, recipient
        case bundleID = "bundle_id"
        case claimID = "claim_id"
        case agreementReference = "agreement_reference"
        case consentReference = "consent_reference"
    }

    public init(bundleID: BundleID, claimID: String, sender: Sender, recipient: Recipient,
                agreementReference: String, purpose: String, consentReference: String?,
                created: Date, expires: Date, metadata: [String: String], documents: [Document]) {
        self.format = Self.currentFormat
        self.bundleID = bundleID; self.claimID = claimID; self.sender = sender; self.recipient = recipient
        self.agreementReference = agreementReference; self.purpose = purpose
        self.consentReference = consentReference; self.created = created; self.expires = expires
        self.metadata = metadata; self.documents = documents
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(String.self, forKey: .format)
        guard let id = BundleID(lenient: try c.decode(String.self, forKey: .bundleID)) else {
            throw DecodingError.dataCorruptedError(forKey: .bundleID, in: c, debugDescription: "not a UUID")
        }
        bundleID = id
        claimID = try c.decode(String.self, forKey: .claimID)
        sender = try c.decode(Sender.self, forKey: .sender)
        recipient = try c.decode(Recipient.self, forKey: .recipient)
        agreementReference = try c.decode(String.self, forKey: .agreementReference)
        purpose = try c.decode(String.self, forKey: .purpose)
        consentReference = try c.decodeIfPresent(String.self, forKey: .consentReference)
        created = try c.decode(Date.self, forKey: .created)
        expires = try c.decode(Date.self, forKey: .expires)
        metadata = try c.decode([String: String].self, forKey: .metadata)
        documents = try c.decode([Document].self, forKey: .documents)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(format, forKey: .format)
        try c.encode(bundleID.description, forKey: .bundleID)
        try c.encode(claimID, forKey: .claimID)
        try c.encode(sender, forKey: .sender)
        try c.encode(recipient, forKey: .recipient)
        try c.encode(agreementReference, forKey: .agreementReference)
        try c.encode(purpose, forKey: .purpose)
        try c.encodeIfPresent(consentReference, forKey: .consentReference)
        try c.encode(created, forKey: .created)
        try c.encode(expires, forKey: .expires)
        try c.encode(metadata, forKey: .metadata)
        try c.encode(documents, forKey: .documents)
    }

    /// Canonical JSON: sorted keys, UTC second-precision timestamps, no escaped slashes.
    /// What a purged bundle's record keeps of its manifest: ids, digests, purpose, dates,
    /// references and document names and types stay (the audit trail and breach response need
    /// them); every metadata value becomes `[purged]` (the keys stay, to show what was shared).
    public func purged() -> BundleManifest {
        var m = self
        m.metadata = metadata.mapValues { _ in Self.purgedValue }
        return m
    }

    /// A metadata value a purge removed.
    public static let purgedValue = "[purged]"

    public func encoded() throws -> Data {
        try Self.encoder.encode(self)
    }

    public static func decode(_ data: Data) throws -> BundleManifest {
        do {
            let m = try decoder.decode(BundleManifest.self, from: data)
            guard m.format == currentFormat else {
                throw ClaimGateError(.bundleRejected,
                    "The bundle's manifest has format '\(m.format.prefix(40))', this gateway reads \(currentFormat): upgrade ClaimGate.")
            }
            return m
        } catch let e as ClaimGateError {
            throw e
        } catch {
            throw ClaimGateError(.bundleRejected, "The bundle's manifest is not valid JSON of the bundle format.",
                                 diagnostics: "\(error)")
        }
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .custom { date, enc in
            var c = enc.singleValueContainer()
            try c.encode(Timestamp.format(date))
        }
        return e
    }()

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .custom { dec in
            let s = try dec.singleValueContainer().decode(String.self)
            guard let date = Timestamp.parse(s) else {
                throw DecodingError.dataCorrupted(.init(codingPath: dec.codingPath, debugDescription: "not ISO-8601"))
            }
            return date
        }
        return d
    }()
}

/// Masks metadata values named in an agreement's `masking` list.
public enum Masking {
    public static let maskedValue = "[masked]"

    /// Returns the metadata with every listed field's value replaced by `[masked]`. Field names
    /// match by `canonical` form: `claimant.NATIONAL_ID`, `Claimant.National_Id` and a
    /// full-width `ｃｌａｉｍａｎｔ．national_id` are all `claimant.national_id`.
    public static func apply(_ fields: [String], to metadata: [String: String]) -> [String: String] {
        let masked = Set(fields.map(canonical))
        return metadata.reduce(into: [:]) { out, kv in
            out[kv.key] = masked.contains(canonical(kv.key)) ? maskedValue : kv.value
        }
    }

    /// A metadata field name as masking compares it: Unicode compatibility normalisation (NFKC),
    /// full case folding (`STRASSE` and `straße`, `ΟΔΟΣ` and `οδος` are one name), NFKC again.
    public static func canonical(_ name: String) -> String {
        name.precomposedStringWithCompatibilityMapping.folding(options: [.caseInsensitive], locale: nil)
            .precomposedStringWithCompatibilityMapping
    }

    /// Checks the field names of one bundle's metadata: each is a name without spaces, `=`,
    /// control or invisible formatting characters (which could hide a masked name from the
    /// comparison), and no two are the same name by `canonical` form (which one would the
    /// partner read?).
    /// - Parameter usage: how to give a name, for the error sentence.
    public static func validateNames(_ names: some Sequence<String>, usage: String = "use --meta name=value with") throws {
        var seen: [String: String] = [:]
        for name in names {
            let bad = name.isEmpty || name.utf8.count > 128 || name.unicodeScalars.contains {
                $0 == "=" || $0.properties.isWhitespace || $0.properties.generalCategory == .control
                    || $0.properties.generalCategory == .format || DocumentName.isControl($0)
            }
            if bad {
                throw ClaimGateError(.invalidArgument,
                    "Metadata key '\(EventReason.bounded(String(name.prefix(40))))' is not valid: \(usage) a name of at most 128 bytes without spaces, '=' or control characters.")
            }
            if let other = seen.updateValue(name, forKey: canonical(name)) {
                throw ClaimGateError(.invalidArgument,
                    "Metadata keys '\(EventReason.bounded(String(other.prefix(40))))' and '\(EventReason.bounded(String(name.prefix(40))))' are the same name in another case or form: give it once.")
            }
        }
    }
}

/// Document names as they appear in `documents/<name>`: a plain file name, no directories.
public enum DocumentName {
    /// Validates a name taken from a path's last component.
    public static func validate(_ name: String) throws -> String {
        let bad = name.isEmpty || name == "." || name == ".." || name.hasPrefix(".")
            || name.utf8.count > 200
            || name.unicodeScalars.contains(where: { $0 == "/" || $0 == "\\" || isControl($0) })
        if bad {
            throw ClaimGateError(.invalidArgument,
                "Document name '\(name.prefix(60).unicodeScalars.map { isControl($0) ? "?" : String($0) }.joined())' cannot be shared: rename the file to a plain name without '/', control or text-direction characters or a leading dot (at most 200 bytes).")
        }
        return name
    }

    /// C0 and C1 controls, DEL, and the invisible text-direction marks and overrides (which can
    /// make `evil\u{202E}fdp.exe` display as `evilexe.pdf`).
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0..<0x20, 0x7F...0x9F, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }
}
