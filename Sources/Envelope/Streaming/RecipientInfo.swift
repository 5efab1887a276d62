/// How a recipient info names the certificate it is for.
enum RecipientIdentifier: Equatable {
    /// The DER of the issuer Name and of the serialNumber INTEGER.
    case issuerAndSerial(issuer: [UInt8], serial: [UInt8])
    /// The subjectKeyIdentifier extension's octets.
    case subjectKeyIdentifier([UInt8])

    static func issuerAndSerial(_ e: DERElement) throws -> RecipientIdentifier {
        let parts = try e.expect(0x30, "an IssuerAndSerialNumber").children()
        guard parts.count == 2 else { throw e.error("a malformed IssuerAndSerialNumber") }
        try parts[0].expect(0x30, "the issuer Name")
        try parts[1].expect(0x02, "the serial number")
        return .issuerAndSerial(issuer: Array(parts[0].encoded), serial: Array(parts[1].encoded))
    }
}

/// The AES key wrap a key agreement recipient uses for the content key.
enum KeyWrap: Equatable {
    case aes128, aes256
    var kekLength: Int { self == .aes128 ? 16 : 32 }
    var oid: OID { self == .aes128 ? .aes128Wrap : .aes256Wrap }
}

/// A recipient info inside ClaimGate's profile.
enum RecipientInfo {
    /// KeyTransRecipientInfo with RSAES-OAEP, SHA-256 and MGF1-SHA-256, empty label.
    case keyTransport(rid: RecipientIdentifier, encryptedKey: [UInt8])
    /// KeyAgreeRecipientInfo: ephemeral-static ECDH, dhSinglePass-stdDH-sha256kdf-scheme, AES key wrap.
    case keyAgreement(KeyAgreement)

    struct KeyAgreement {
        /// The originator's ephemeral public key: the OriginatorPublicKey AlgorithmIdentifier's
        /// curve (nil when absent or NULL: the recipient's curve) and the encoded point.
        let curve: OID?
        let point: [UInt8]
        /// UserKeyingMaterial, when present.
        let ukm: [UInt8]?
        let wrap: KeyWrap
        let keys: [(rid: RecipientIdentifier, encryptedKey: [UInt8])]
    }

    static let accepted = "RSA-OAEP (SHA-256, MGF1-SHA-256) key transport or ECDH (P-256/P-384, dhSinglePass-stdDH-sha256kdf-scheme, AES key wrap) key agreement"

    /// Parses and checks the recipientInfos SET against the profile.
    static func parseAll(_ set: DERElement, maxRecipients: Int) throws -> [RecipientInfo] {
        let items = try set.expect(0x31, "the recipientInfos SET").children()
        guard !items.isEmpty else { throw set.error("an empty recipientInfos SET") }
        guard items.count <= maxRecipients else {
            throw EnvelopeError.disallowed("\(items.count) recipients", accepted: "at most \(maxRecipients)")
        }
        return try items.map(parse)
    }

    static func parse(_ e: DERElement) throws -> RecipientInfo {
        switch e.tag {
        case 0x30: return try keyTransport(e)
        case 0xA1: return try keyAgreement(e)
        case 0xA2: throw EnvelopeError.disallowed("a KEK recipient (KEKRecipientInfo, a pre-shared key)", accepted: accepted)
        case 0xA3: throw EnvelopeError.disallowed("a password recipient (PasswordRecipientInfo)", accepted: accepted)
        case 0xA4: throw EnvelopeError.disallowed("an other-type recipient (OtherRecipientInfo)", accepted: accepted)
        default: throw e.error("a recipient info with tag \(DERElement.hex(e.tag))")
        }
    }

    private static func keyTransport(_ e: DERElement) throws -> RecipientInfo {
        let f = try e.children()
        guard f.count == 4 else { throw e.error("a malformed KeyTransRecipientInfo") }
        let version = try f[0].smallInteger("KeyTransRecipientInfo version")
        let rid: RecipientIdentifier
        switch (version, f[1].tag) {
        case (0, 0x30): rid = try .issuerAndSerial(f[1])
        case (2, 0x80): rid = .subjectKeyIdentifier(Array(f[1].content))
        case (0, _), (2, _): throw f[1].error("a recipient identifier that does not match the KeyTransRecipientInfo version")
        default: throw EnvelopeError.disallowed("KeyTransRecipientInfo version \(version)", accepted: "versions 0 and 2")
        }
        let alg = try AlgorithmIdentifier(f[2], "the key encryption algorithm")
        switch alg.oid {
        case .rsaesOAEP: try checkOAEP(alg)
        case .rsaEncryption:
            throw EnvelopeError.disallowed("RSA PKCS#1 v1.5 key transport (rsaEncryption)", accepted: accepted)
        default:
            throw EnvelopeError.disallowed("key transport with \(alg.oid)", accepted: accepted)
        }
        try f[3].expect(0x04, "the encrypted key")
        guard (1...1024).contains(f[3].content.count) else { throw f[3].error("an encrypted key of \(f[3].content.count) bytes") }
        return .keyTransport(rid: rid, encryptedKey: Array(f[3].content))
    }

    /// RSAES-OAEP-params: hash SHA-256, MGF1 with SHA-256, no label (RFC 4055).
    private static func checkOAEP(_ alg: AlgorithmIdentifier) throws {
        let oaep = "RSA-OAEP with SHA-256 and MGF1-SHA-256"
        guard let p = alg.parameters, p.tag == 0x30 else {
            throw EnvelopeError.disallowed("RSA-OAEP with SHA-1 (default parameters)", accepted: oaep)
        }
        var hash: AlgorithmIdentifier?, mgf: AlgorithmIdentifier?
        var lastTag: UInt8 = 0
        for field in try p.children() {
            guard field.tag > lastTag else { throw field.error("RSAES-OAEP parameters out of order") }
            lastTag = field.tag
            let inner = try field.children()
            guard inner.count == 1 else { throw field.error("malformed RSAES-OAEP parameters") }
            switch field.tag {
            case 0xA0: hash = try AlgorithmIdentifier(inner[0], "the OAEP hash")
            case 0xA1: mgf = try AlgorithmIdentifier(inner[0], "the OAEP mask generation function")
            case 0xA2:
                let source = try AlgorithmIdentifier(inner[0], "the OAEP label source")
                guard source.oid == .pSpecified, let label = source.parameters, label.tag == 0x04, label.content.isEmpty else {
                    throw EnvelopeError.disallowed("RSA-OAEP with a label", accepted: oaep + " and an empty label")
                }
            default: throw field.error("an unknown RSAES-OAEP parameter")
            }
        }
        guard let hash, hash.isSHA256 else {
            throw EnvelopeError.disallowed("RSA-OAEP with \(hash.map { "\($0.oid)" } ?? "SHA-1")", accepted: oaep)
        }
        guard let mgf, mgf.oid == .mgf1, let mgfHash = mgf.parameters,
              try AlgorithmIdentifier(mgfHash, "the MGF1 hash").isSHA256 else {
            throw EnvelopeError.disallowed("RSA-OAEP with a mask generation function other than MGF1-SHA-256", accepted: oaep)
        }
    }

    private static func keyAgreement(_ e: DERElement) throws -> RecipientInfo {
        let f = try e.children()
        guard f.count == 4 || f.count == 5 else { throw e.error("a malformed KeyAgreeRecipientInfo") }
        let version = try f[0].smallInteger("KeyAgreeRecipientInfo version")
        guard version == 3 else {
            throw EnvelopeError.disallowed("KeyAgreeRecipientInfo version \(version)", accepted: "version 3")
        }
        // originator [0] EXPLICIT OriginatorIdentifierOrKey: only originatorKey [1] (ephemeral-static).
        let originator = try f[1].expect(0xA0, "the originator").children()
        guard originator.count == 1 else { throw f[1].error("a malformed originator") }
        guard originator[0].tag == 0xA1 else {
            throw EnvelopeError.disallowed("static-static key agreement (the originator is named by a certificate)",
                                           accepted: "ephemeral-static ECDH (an originator public key)")
        }
        let okey = try originator[0].children()
        guard okey.count == 2 else { throw originator[0].error("a malformed OriginatorPublicKey") }
        let keyAlg = try AlgorithmIdentifier(okey[0], "the originator key algorithm")
        guard keyAlg.oid == .ecPublicKey else {
            throw EnvelopeError.disallowed("key agreement with \(keyAlg.oid) keys", accepted: accepted)
        }
        var curve: OID?
        if let p = keyAlg.parameters, !keyAlg.hasNoParameters { curve = try p.oid("the originator key curve") }
        try okey[1].expect(0x03, "the originator public key")
        guard let unused = okey[1].content.first, unused == 0, (2...200).contains(okey[1].content.count) else {
            throw okey[1].error("a malformed originator public key")
        }
        let point = Array(okey[1].content.dropFirst())
        // Uncompressed points only (what OpenSSL writes): compressed and hybrid forms would make
        // the same key encodable in several ways.
        guard point[0] == 0x04, point.count == 65 || point.count == 97 else {
            throw EnvelopeError.disallowed("an originator public key in compressed or hybrid point form", accepted: "uncompressed P-256/P-384 points")
        }

        var i = 2
        var ukm: [UInt8]?
        if f[i].tag == 0xA1 {
            let u = try f[i].children()
            guard u.count == 1 else { throw f[i].error("malformed user keying material") }
            try u[0].expect(0x04, "the user keying material")
            guard u[0].content.count <= 256 else { throw u[0].error("user keying material over 256 bytes") }
            ukm = Array(u[0].content)
            i += 1
        }
        guard f.count == i + 2 else { throw e.error("a malformed KeyAgreeRecipientInfo") }

        let kdf = try AlgorithmIdentifier(f[i], "the key agreement algorithm")
        guard kdf.oid == .dhSinglePassStdDHSHA256KDF else {
            let what = kdf.oid == OID("1.3.133.16.840.63.0.2") ? "ECDH with the SHA-1 KDF (dhSinglePass-stdDH-sha1kdf-scheme)"
                                                                : "key agreement with \(kdf.oid)"
            throw EnvelopeError.disallowed(what, accepted: accepted)
        }
        guard let wrapElement = kdf.parameters else { throw f[i].error("a key agreement algorithm without its key wrap") }
        let wrapAlg = try AlgorithmIdentifier(wrapElement, "the key wrap algorithm")
        let wrap: KeyWrap
        switch wrapAlg.oid {
        case .aes256Wrap: wrap = .aes256
        case .aes128Wrap: wrap = .aes128
        default: throw EnvelopeError.disallowed("key wrap with \(wrapAlg.oid)", accepted: "id-aes256-wrap or id-aes128-wrap")
        }
        guard wrapAlg.parameters == nil else { throw wrapElement.error("key wrap parameters, which AES key wrap has none of") }

        let encryptedKeys = try f[i + 1].expect(0x30, "the recipientEncryptedKeys").children()
        guard (1...16).contains(encryptedKeys.count) else { throw f[i + 1].error("\(encryptedKeys.count) recipientEncryptedKeys") }
        var keys: [(RecipientIdentifier, [UInt8])] = []
        for rek in encryptedKeys {
            let r = try rek.expect(0x30, "a RecipientEncryptedKey").children()
            guard r.count == 2 else { throw rek.error("a malformed RecipientEncryptedKey") }
            let rid: RecipientIdentifier
            switch r[0].tag {
            case 0x30: rid = try .issuerAndSerial(r[0])
            case 0xA0:
                let k = try r[0].children()
                guard (1...2).contains(k.count) else { throw r[0].error("a malformed RecipientKeyIdentifier") }
                try k[0].expect(0x04, "the subject key identifier")
                if k.count == 2 { try k[1].expect(0x18, "the key identifier date") }
                rid = .subjectKeyIdentifier(Array(k[0].content))
            default: throw r[0].error("a recipient identifier with tag \(DERElement.hex(r[0].tag))")
            }
            try r[1].expect(0x04, "the wrapped key")
            guard (24...64).contains(r[1].content.count) else { throw r[1].error("a wrapped key of \(r[1].content.count) bytes") }
            keys.append((rid, Array(r[1].content)))
        }
        return .keyAgreement(KeyAgreement(curve: curve, point: point, ukm: ukm, wrap: wrap, keys: keys))
    }
}
