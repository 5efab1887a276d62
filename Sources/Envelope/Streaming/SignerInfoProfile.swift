/// The signature schemes the profile accepts, all over SHA-256.
enum SignatureScheme: Equatable {
    case ecdsaSHA256
    case rsaPKCS1SHA256
    case rsaPSS(saltLength: Int)
}

/// A SignerInfo parsed and held to the profile: version 1 or 3, SHA-256, signed attributes with
/// content-type id-data and a 32-byte message digest, one of the accepted signature schemes, no
/// unsigned attributes.
struct SignerInfoProfile {
    let signer: RecipientIdentifier
    let scheme: SignatureScheme
    /// The signed attributes as the signature covers them: DER with the SET OF tag (0x31).
    let signedAttributes: [UInt8]
    let messageDigest: [UInt8]
    let signature: [UInt8]

    static let schemes = "ECDSA with SHA-256, RSA-PSS (SHA-256, MGF1-SHA-256) or RSA PKCS#1 v1.5 with SHA-256"

    init(_ e: DERElement) throws {
        let f = try e.expect(0x30, "a SignerInfo").children()
        guard (5...7).contains(f.count) else { throw e.error("a malformed SignerInfo") }
        let version = try f[0].smallInteger("the SignerInfo version")
        switch (version, f[1].tag) {
        case (1, 0x30): signer = try .issuerAndSerial(f[1])
        case (3, 0x80): signer = .subjectKeyIdentifier(Array(f[1].content))
        case (1, _), (3, _): throw f[1].error("a signer identifier that does not match the SignerInfo version")
        default: throw EnvelopeError.disallowed("SignerInfo version \(version)", accepted: "versions 1 and 3")
        }
        let digest = try AlgorithmIdentifier(f[2], "the signer's digest algorithm")
        guard digest.isSHA256 else { throw SignedDataReader.digestRefusal(digest.oid) }

        guard f[3].tag == 0xA0 else {
            throw EnvelopeError.disallowed("a signature without signed attributes", accepted: "signed attributes with content-type and message-digest")
        }
        // With signed attributes a SignerInfo has at least six fields (the signature is the sixth):
        // five is malformed, not a reason to read past the end.
        guard f.count >= 6 else { throw e.error("a malformed SignerInfo (no signature after the signed attributes)") }
        let attributes = f[3]
        let signatureAlgorithm = try AlgorithmIdentifier(f[4], "the signature algorithm")
        scheme = try Self.scheme(signatureAlgorithm)
        try f[5].expect(0x04, "the signature")
        guard (8...1024).contains(f[5].content.count) else { throw f[5].error("a signature of \(f[5].content.count) bytes") }
        signature = Array(f[5].content)
        if f.count == 7 {
            guard f[6].tag == 0xA1 else { throw f[6].error("an unexpected element after the signature") }
            throw EnvelopeError.disallowed("unsigned attributes (countersignatures, timestamps)", accepted: "a SignerInfo without unsigned attributes")
        }

        // The signature covers the DER of the SET OF attributes in the order received (as
        // OpenSSL verifies), with the SET tag in place of the [0] IMPLICIT tag.
        signedAttributes = [0x31] + attributes.encoded.dropFirst()
        var seen: Set<OID> = []
        var contentType: OID?, digestValue: [UInt8]?
        for a in try attributes.children() {
            let parts = try a.expect(0x30, "an attribute").children()
            guard parts.count == 2 else { throw a.error("a malformed attribute") }
            let type = try parts[0].oid("the attribute type")
            let values = try parts[1].expect(0x31, "the attribute values").children()
            guard seen.insert(type).inserted else { throw a.error("the signed attribute \(type) twice") }
            guard values.count == 1 else { throw a.error("\(values.count) values for the signed attribute \(type)") }
            let value = values[0]
            switch type {
            case .contentType: contentType = try value.oid("the content-type attribute")
            case .messageDigest:
                try value.expect(0x04, "the message-digest attribute")
                guard value.content.count == 32 else { throw value.error("a message digest of \(value.content.count) bytes") }
                digestValue = Array(value.content)
            case .signingTime:
                guard value.tag == 0x17 || value.tag == 0x18 else { throw value.error("a malformed signing time") }
            case .smimeCapabilities, .signingCertificateV2:
                try value.expect(0x30, "the \(type) attribute")
            case .cmsAlgorithmProtection:
                try Self.checkAlgorithmProtection(value, digest: digest, signature: signatureAlgorithm)
            default:
                throw EnvelopeError.disallowed("the signed attribute \(type)", accepted: "content-type, message-digest, signing-time, S/MIME capabilities, signing-certificate-v2 and CMS algorithm protection")
            }
        }
        guard contentType == .data else {
            throw EnvelopeError.disallowed(contentType.map { "a content-type attribute of \($0)" } ?? "signed attributes without a content-type",
                                           accepted: "content-type pkcs7-data, matching the signed content")
        }
        guard let digestValue else {
            throw EnvelopeError.disallowed("signed attributes without a message-digest", accepted: "a SHA-256 message-digest attribute")
        }
        messageDigest = digestValue
    }

    private static func scheme(_ alg: AlgorithmIdentifier) throws -> SignatureScheme {
        switch alg.oid {
        case .ecdsaWithSHA256 where alg.hasNoParameters: return .ecdsaSHA256
        case .rsaEncryption where alg.hasNoParameters, .sha256WithRSAEncryption where alg.hasNoParameters: return .rsaPKCS1SHA256
        case .rsassaPSS: return .rsaPSS(saltLength: try pssSaltLength(alg))
        default: throw EnvelopeError.disallowed("the signature algorithm \(alg.oid)", accepted: schemes)
        }
    }

    /// RSASSA-PSS-params (RFC 4055): SHA-256, MGF1-SHA-256, trailer field 1; returns the salt length.
    private static func pssSaltLength(_ alg: AlgorithmIdentifier) throws -> Int {
        guard let p = alg.parameters, p.tag == 0x30 else {
            throw EnvelopeError.disallowed("RSA-PSS with SHA-1 (default parameters)", accepted: schemes)
        }
        var hash: AlgorithmIdentifier?, mgf: AlgorithmIdentifier?
        var salt = 20, trailer = 1
        var lastTag: UInt8 = 0
        for field in try p.children() {
            guard field.tag > lastTag else { throw field.error("RSASSA-PSS parameters out of order") }
            lastTag = field.tag
            let inner = try field.children()
            guard inner.count == 1 else { throw field.error("malformed RSASSA-PSS parameters") }
            switch field.tag {
            case 0xA0: hash = try AlgorithmIdentifier(inner[0], "the PSS hash")
            case 0xA1: mgf = try AlgorithmIdentifier(inner[0], "the PSS mask generation function")
            case 0xA2: salt = try inner[0].smallInteger("the PSS salt length")
            case 0xA3: trailer = try inner[0].smallInteger("the PSS trailer field")
            default: throw field.error("an unknown RSASSA-PSS parameter")
            }
        }
        guard let hash, hash.isSHA256, let mgf, mgf.oid == .mgf1, let mgfHash = mgf.parameters,
              try AlgorithmIdentifier(mgfHash, "the MGF1 hash").isSHA256 else {
            throw EnvelopeError.disallowed("RSA-PSS with a hash other than SHA-256", accepted: schemes)
        }
        guard trailer == 1, salt <= 1024 else { throw p.error("RSASSA-PSS parameters out of range") }
        return salt
    }

    /// RFC 6211: the attribute must name the same digest and signature algorithms as the SignerInfo.
    private static func checkAlgorithmProtection(_ value: DERElement, digest: AlgorithmIdentifier, signature: AlgorithmIdentifier) throws {
        let f = try value.expect(0x30, "the CMS algorithm protection attribute").children()
        guard f.count == 2, f[0].encoded.elementsEqual(digest.element.encoded), f[1].tag == 0xA1,
              f[1].content.elementsEqual(signature.element.content) else {
            throw EnvelopeError(.signatureInvalid, "The bundle's CMS algorithm protection attribute does not match its signature algorithms: it was altered.")
        }
    }
}
