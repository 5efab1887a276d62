/// The parts of a SignedData kept for verification: everything but the content, which was
/// streamed out as it was read.
struct SignedDataParts {
    /// Each certificate's DER, in order.
    let certificates: [DERElement]
    /// The one SignerInfo.
    let signerInfo: DERElement
}

/// Reads the decrypted ContentInfo → SignedData (attached, id-data) from a stream, handing the
/// eContent's bytes to `deliver` as they come and keeping only the small structures.
enum SignedDataReader {
    static let accepted = "SignedData with attached content (pkcs7-data), SHA-256, exactly one signer"

    /// - Parameters:
    ///   - r: the decrypted stream; must end exactly where the ContentInfo does.
    ///   - limits: caps on the certificates and signer infos.
    ///   - deliver: receives the content in order.
    static func read(_ r: BERStreamReader, limits: StreamingBundleOpener.Configuration,
                     deliver: (UnsafeRawBufferPointer) throws -> Void) throws -> SignedDataParts {
        let top = try r.readHeader()
        guard top.tag == 0x30 else {
            throw r.malformed("it does not start with a CMS ContentInfo SEQUENCE (tag \(DERElement.hex(top.tag)))", at: top.offset)
        }
        try r.enter(top)
        let type = try AuthEnvelopedHeader.readOID(r, "the content type")
        guard type == .signedData else {
            throw EnvelopeError.disallowed("encrypted content of type \(type) instead of a signature", accepted: accepted)
        }
        try AuthEnvelopedHeader.enter(r, 0xA0, "the explicit [0] content")
        try AuthEnvelopedHeader.enter(r, 0x30, "the SignedData SEQUENCE")
        let version = try AuthEnvelopedHeader.readInteger(r, "the SignedData version")
        guard version == 1 || version == 3 else {
            throw EnvelopeError.disallowed("SignedData version \(version)", accepted: "versions 1 and 3")
        }

        guard let dh = try r.next(), dh.tag == 0x31 else { throw r.malformed("expected the digestAlgorithms SET") }
        let digests = try r.readElement(dh, cap: 1024, what: "the digestAlgorithms SET").children()
        for d in digests {
            let alg = try AlgorithmIdentifier(d, "a digest algorithm")
            guard alg.isSHA256 else { throw digestRefusal(alg.oid) }
        }
        guard digests.count == 1 else {
            throw EnvelopeError.disallowed("\(digests.count) digest algorithms", accepted: accepted)
        }

        try AuthEnvelopedHeader.enter(r, 0x30, "the EncapsulatedContentInfo SEQUENCE")
        let eType = try AuthEnvelopedHeader.readOID(r, "the encapsulated content type")
        guard eType == .data else {
            throw EnvelopeError.disallowed("signed content of type \(eType)", accepted: accepted)
        }
        guard let explicit = try r.next() else {
            throw EnvelopeError.disallowed("a detached signature (no content)", accepted: accepted)
        }
        guard explicit.tag == 0xA0 else { throw r.malformed("expected the eContent [0], found tag \(DERElement.hex(explicit.tag))", at: explicit.offset) }
        try r.enter(explicit)
        guard let octets = try r.next(), octets.tag == 0x04 || octets.tag == 0x24 else {
            throw r.malformed("expected the eContent OCTET STRING")
        }
        let content = try OctetStringCursor(reader: r, header: octets)
        while let piece = try content.next(max: .max) { try deliver(piece) }
        try r.expectEnd(of: "the eContent [0]")
        try r.expectEnd(of: "the EncapsulatedContentInfo")

        guard var h = try r.next() else { throw r.malformed("the SignedData ends before its signerInfos") }
        var certificates: [DERElement] = []
        if h.tag == 0xA0 {
            let set = try r.readElement(h, cap: limits.maxCertificateBytes, what: "the certificates")
            certificates = try set.children()
            guard certificates.count <= limits.maxCertificates else {
                throw r.malformed("\(certificates.count) certificates, over the cap of \(limits.maxCertificates)", at: set.offset)
            }
            for c in certificates where c.tag != 0x30 {
                throw EnvelopeError.disallowed("an attribute or other-format certificate in the SignedData", accepted: "X.509 certificates")
            }
            guard let n = try r.next() else { throw r.malformed("the SignedData ends before its signerInfos") }
            h = n
        }
        if h.tag == 0xA1 {
            throw EnvelopeError.disallowed("revocation lists inside the SignedData", accepted: "a SignedData without CRLs")
        }
        guard h.tag == 0x31 else { throw r.malformed("expected the signerInfos SET, found tag \(DERElement.hex(h.tag))", at: h.offset) }
        let signers = try r.readElement(h, cap: limits.maxSignerInfoBytes, what: "the signerInfos SET").children()
        guard signers.count == 1 else {
            throw EnvelopeError.disallowed(signers.isEmpty ? "a SignedData without a signer" : "\(signers.count) signers", accepted: "exactly one signer")
        }
        try r.expectEnd(of: "the SignedData")
        try r.expectEnd(of: "the explicit [0] content")
        try r.expectEnd(of: "the ContentInfo")
        guard try r.isAtEnd() else { throw r.malformed("trailing data after the end of the SignedData") }
        return SignedDataParts(certificates: certificates, signerInfo: signers[0])
    }

    static func digestRefusal(_ oid: OID) -> EnvelopeError {
        EnvelopeError.disallowed(oid == .sha1 ? "the SHA-1 digest algorithm" : "the digest algorithm \(oid)", accepted: "SHA-256 digests only")
    }
}
