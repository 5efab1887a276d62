import COpenSSL

/// An ASN.1 OBJECT IDENTIFIER as the content octets of its DER encoding (what follows `06 len`).
struct OID: Hashable, Sendable, CustomStringConvertible {
    let bytes: [UInt8]

    init(bytes: some Sequence<UInt8>) { self.bytes = Array(bytes) }

    /// Encodes a dotted OID such as `1.2.840.113549.1.7.2`.
    init(_ dotted: StaticString) {
        let arcs = "\(dotted)".split(separator: ".").map { UInt64($0)! }
        precondition(arcs.count >= 2 && arcs[0] <= 2)
        var out: [UInt8] = []
        func base128(_ v: UInt64) {
            var stack: [UInt8] = [UInt8(v & 0x7F)]
            var rest = v >> 7
            while rest > 0 { stack.append(UInt8(rest & 0x7F) | 0x80); rest >>= 7 }
            out.append(contentsOf: stack.reversed())
        }
        base128(arcs[0] * 40 + arcs[1])
        for arc in arcs.dropFirst(2) { base128(arc) }
        bytes = out
    }

    /// OpenSSL's long name (`aes-256-cbc`, `sha1`, `rsaEncryption`) or the dotted form.
    var description: String {
        let der = [0x06, UInt8(truncatingIfNeeded: bytes.count)] + bytes
        guard bytes.count < 128 else { return "an unknown algorithm" }
        let obj: OpaquePointer? = der.withUnsafeBufferPointer { buf in
            var p: UnsafePointer<UInt8>? = buf.baseAddress
            return d2i_ASN1_OBJECT(nil, &p, buf.count)
        }
        guard let obj else { OpenSSLErrorQueue.clear(); return "an unknown algorithm" }
        defer { ASN1_OBJECT_free(obj) }
        var name = [CChar](repeating: 0, count: 128)
        guard OBJ_obj2txt(&name, Int32(name.count), obj, 0) > 0 else { return "an unknown algorithm" }
        return String(cChars: name)
    }

    // Content types (RFC 5652, RFC 5083).
    static let data = OID("1.2.840.113549.1.7.1")
    static let signedData = OID("1.2.840.113549.1.7.2")
    static let envelopedData = OID("1.2.840.113549.1.7.3")
    static let authEnvelopedData = OID("1.2.840.113549.1.9.16.1.23")

    // Content encryption.
    static let aes128GCM = OID("2.16.840.1.101.3.4.1.6")
    static let aes192GCM = OID("2.16.840.1.101.3.4.1.26")
    static let aes256GCM = OID("2.16.840.1.101.3.4.1.46")

    // Digests.
    static let sha1 = OID("1.3.14.3.2.26")
    static let sha256 = OID("2.16.840.1.101.3.4.2.1")

    // RSA (RFC 8017, RFC 4055).
    static let rsaEncryption = OID("1.2.840.113549.1.1.1")
    static let rsaesOAEP = OID("1.2.840.113549.1.1.7")
    static let mgf1 = OID("1.2.840.113549.1.1.8")
    static let pSpecified = OID("1.2.840.113549.1.1.9")
    static let rsassaPSS = OID("1.2.840.113549.1.1.10")
    static let sha256WithRSAEncryption = OID("1.2.840.113549.1.1.11")

    // EC (RFC 5480, RFC 5753).
    static let ecPublicKey = OID("1.2.840.10045.2.1")
    static let ecdsaWithSHA256 = OID("1.2.840.10045.4.3.2")
    static let dhSinglePassStdDHSHA256KDF = OID("1.3.132.1.11.1")

    // AES key wrap (RFC 3394, RFC 3565).
    static let aes128Wrap = OID("2.16.840.1.101.3.4.1.5")
    static let aes256Wrap = OID("2.16.840.1.101.3.4.1.45")

    // Signed attributes.
    static let contentType = OID("1.2.840.113549.1.9.3")
    static let messageDigest = OID("1.2.840.113549.1.9.4")
    static let signingTime = OID("1.2.840.113549.1.9.5")
    static let smimeCapabilities = OID("1.2.840.113549.1.9.15")
    static let signingCertificateV2 = OID("1.2.840.113549.1.9.16.2.47")
    static let cmsAlgorithmProtection = OID("1.2.840.113549.1.9.52")
}
