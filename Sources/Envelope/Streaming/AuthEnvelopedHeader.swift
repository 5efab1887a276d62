/// The part of the bundle before its ciphertext (ContentInfo → AuthEnvelopedData → recipients →
/// EncryptedContentInfo), read from the stream and held to the strict profile; and the part
/// after it (mac, end of every container, end of file).
struct AuthEnvelopedHeader {
    let recipients: [RecipientInfo]
    /// The 12-byte AES-GCM nonce.
    let nonce: [UInt8]
    /// The header of encryptedContent [0]: the ciphertext follows it.
    let encryptedContent: BERHeader

    static let contentEncryption = "AuthEnvelopedData with AES-256-GCM, a 12-byte nonce and a 16-byte tag"

    /// Reads up to the first ciphertext byte; throws before any crypto when the structure is
    /// malformed or outside the profile.
    static func read(_ r: BERStreamReader, limits: StreamingBundleOpener.Configuration) throws -> AuthEnvelopedHeader {
        let top = try r.readHeader()
        guard top.tag == 0x30 else {
            throw r.malformed("it does not start with a CMS ContentInfo SEQUENCE (tag \(DERElement.hex(top.tag))); this is not a sealed bundle", at: top.offset)
        }
        try r.enter(top)
        let type = try readOID(r, "the content type")
        switch type {
        case .authEnvelopedData: break
        case .envelopedData: throw envelopedDataRefusal(r)
        case .signedData: throw EnvelopeError.disallowed("an unencrypted SignedData", accepted: contentEncryption)
        default: throw EnvelopeError.disallowed("the CMS content type \(type)", accepted: contentEncryption)
        }
        try enter(r, 0xA0, "the explicit [0] content")
        try enter(r, 0x30, "the AuthEnvelopedData SEQUENCE")
        let version = try readInteger(r, "the AuthEnvelopedData version")
        guard version == 0 else { throw EnvelopeError.disallowed("AuthEnvelopedData version \(version)", accepted: "version 0") }

        guard let h = try r.next() else { throw r.malformed("the AuthEnvelopedData ends before its recipients") }
        if h.tag == 0xA0 {
            throw EnvelopeError.disallowed("originatorInfo in the AuthEnvelopedData", accepted: "AuthEnvelopedData without originatorInfo")
        }
        guard h.tag == 0x31 else { throw r.malformed("expected the recipientInfos SET, found tag \(DERElement.hex(h.tag))", at: h.offset) }
        let recipients = try RecipientInfo.parseAll(r.readElement(h, cap: limits.maxRecipientInfoBytes, what: "the recipientInfos SET"),
                                                    maxRecipients: limits.maxRecipients)

        try enter(r, 0x30, "the EncryptedContentInfo SEQUENCE")
        let contentType = try readOID(r, "the encrypted content type")
        guard contentType == .signedData || contentType == .data else {
            throw EnvelopeError.disallowed("encrypted content of type \(contentType)", accepted: "encrypted SignedData (content type pkcs7-signedData or pkcs7-data)")
        }

        // contentEncryptionAlgorithm, read field by field so an oversized nonce is refused
        // from its header, without reading it.
        try enter(r, 0x30, "the content encryption AlgorithmIdentifier")
        let cipher = try readOID(r, "the content encryption algorithm")
        guard cipher == .aes256GCM else {
            throw EnvelopeError.disallowed("\(cipher) content encryption", accepted: contentEncryption)
        }
        try enter(r, 0x30, "the GCMParameters SEQUENCE")
        guard let n = try r.next(), n.tag == 0x04 else { throw r.malformed("expected the GCM nonce OCTET STRING") }
        guard n.length == 12 else {
            let size = n.length.map { "\($0)-byte" } ?? "constructed"
            throw EnvelopeError.disallowed("a \(size) AES-GCM nonce", accepted: contentEncryption)
        }
        let nonce = try r.readContent(n, cap: 12, what: "the GCM nonce")
        guard let icv = try r.next() else {
            throw EnvelopeError.disallowed("a 12-byte GCM tag (the default ICV length)", accepted: contentEncryption)
        }
        guard icv.tag == 0x02 else { throw r.malformed("expected the GCM ICV length INTEGER", at: icv.offset) }
        let icvLength = try r.readElement(icv, cap: 8, what: "the GCM ICV length").smallInteger("the GCM ICV length")
        guard icvLength == 16 else {
            throw EnvelopeError.disallowed("a \(icvLength)-byte GCM tag", accepted: contentEncryption)
        }
        try r.expectEnd(of: "the GCMParameters")
        try r.expectEnd(of: "the content encryption AlgorithmIdentifier")

        guard let content = try r.next() else {
            throw EnvelopeError.disallowed("detached encrypted content", accepted: "the ciphertext inside the bundle")
        }
        guard content.tag == 0x80 || content.tag == 0xA0 else {
            throw r.malformed("expected the encryptedContent [0], found tag \(DERElement.hex(content.tag))", at: content.offset)
        }
        return AuthEnvelopedHeader(recipients: recipients, nonce: nonce, encryptedContent: content)
    }

    /// Reads everything after the ciphertext and returns the 16-byte mac. The file must end
    /// exactly where the ContentInfo does.
    static func readTrailer(_ r: BERStreamReader) throws -> [UInt8] {
        try r.expectEnd(of: "the EncryptedContentInfo")
        guard let h = try r.next() else { throw r.malformed("the AuthEnvelopedData has no authentication tag (mac)") }
        if h.tag == 0xA1 {
            throw EnvelopeError.disallowed("authenticated attributes (authAttrs)", accepted: "AuthEnvelopedData without authAttrs")
        }
        guard h.tag == 0x04, h.length == 16 else {
            throw r.malformed("expected a 16-byte mac OCTET STRING (tag \(DERElement.hex(h.tag)), \(h.length.map(String.init) ?? "indefinite") bytes)", at: h.offset)
        }
        let mac = try r.readContent(h, cap: 16, what: "the mac")
        if let extra = try r.next() {
            if extra.tag == 0xA2 {
                throw EnvelopeError.disallowed("unauthenticated attributes (unauthAttrs)", accepted: "AuthEnvelopedData without unauthAttrs")
            }
            throw r.malformed("an unexpected element (tag \(DERElement.hex(extra.tag))) after the mac", at: extra.offset)
        }
        try r.expectEnd(of: "the explicit [0] content")
        try r.expectEnd(of: "the ContentInfo")
        guard try r.isAtEnd() else { throw r.malformed("trailing data after the end of the bundle") }
        return mac
    }

    /// Names the cipher of an EnvelopedData (CBC and the like: no integrity) for the refusal.
    private static func envelopedDataRefusal(_ r: BERStreamReader) -> EnvelopeError {
        let accepted = contentEncryption + " (authenticated encryption)"
        do {
            try enter(r, 0xA0, "the explicit [0] content")
            try enter(r, 0x30, "the EnvelopedData SEQUENCE")
            _ = try readInteger(r, "the EnvelopedData version")
            var h = try r.next()
            if h?.tag == 0xA0, let o = h { _ = try r.readContent(o, cap: 64 << 10, what: "originatorInfo"); h = try r.next() }
            guard let set = h, set.tag == 0x31 else { throw r.malformed("no recipientInfos") }
            _ = try r.readContent(set, cap: 64 << 10, what: "the recipientInfos")
            try enter(r, 0x30, "the EncryptedContentInfo")
            _ = try readOID(r, "the content type")
            guard let a = try r.next(), a.tag == 0x30 else { throw r.malformed("no content encryption algorithm") }
            let alg = try AlgorithmIdentifier(r.readElement(a, cap: 512, what: "the content encryption algorithm"), "the content encryption algorithm")
            return EnvelopeError.disallowed("CMS EnvelopedData with \(alg.oid) (encryption without an integrity tag)", accepted: accepted)
        } catch {
            return EnvelopeError.disallowed("CMS EnvelopedData (encryption without an integrity tag)", accepted: accepted)
        }
    }

    static func enter(_ r: BERStreamReader, _ tag: UInt8, _ what: String) throws {
        guard let h = try r.next() else { throw r.malformed("a container ends where \(what) was expected") }
        guard h.tag == tag else {
            throw r.malformed("expected \(what) (tag \(DERElement.hex(tag))), found tag \(DERElement.hex(h.tag))", at: h.offset)
        }
        try r.enter(h)
    }

    static func readOID(_ r: BERStreamReader, _ what: String) throws -> OID {
        guard let h = try r.next() else { throw r.malformed("a container ends where \(what) was expected") }
        guard h.tag == 0x06 else {
            throw r.malformed("expected \(what) (an OBJECT IDENTIFIER), found tag \(DERElement.hex(h.tag))", at: h.offset)
        }
        return try r.readElement(h, cap: 66, what: what).oid(what)
    }

    static func readInteger(_ r: BERStreamReader, _ what: String) throws -> Int {
        guard let h = try r.next() else { throw r.malformed("a container ends where \(what) was expected") }
        guard h.tag == 0x02 else { throw r.malformed("expected \(what) (an INTEGER), found tag \(DERElement.hex(h.tag))", at: h.offset) }
        return try r.readElement(h, cap: 8, what: what).smallInteger(what)
    }
}
