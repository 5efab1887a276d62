import ClaimGateCore
import COpenSSL
import Foundation

/// Key usages ClaimGate checks.
public struct KeyUsage: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let digitalSignature = KeyUsage(rawValue: UInt32(KU_DIGITAL_SIGNATURE))
    public static let keyEncipherment = KeyUsage(rawValue: UInt32(KU_KEY_ENCIPHERMENT))
    public static let keyAgreement = KeyUsage(rawValue: UInt32(KU_KEY_AGREEMENT))
    public static let keyCertSign = KeyUsage(rawValue: UInt32(KU_KEY_CERT_SIGN))
    public static let cRLSign = KeyUsage(rawValue: UInt32(KU_CRL_SIGN))
}

/// An X.509 certificate. Exchanged with other libraries as DER bytes, never as pointers.
public final class Certificate: @unchecked Sendable, CustomStringConvertible {
    let x509: OpaquePointer

    init(owning x509: OpaquePointer) { self.x509 = x509 }
    deinit { X509_free(x509) }

    /// Every certificate in a PEM text, in order. Throws when there is none.
    public static func parseAll(pem: String) throws -> [Certificate] {
        let bio = try MemoryBIO(bytes: Array(pem.utf8))
        var out: [Certificate] = []
        while let x = PEM_read_bio_X509(bio.bio, nil, nil, nil) {
            out.append(Certificate(owning: x))
        }
        OpenSSLErrorQueue.clear()   // the loop ends on a "no start line" error
        guard !out.isEmpty else {
            throw EnvelopeError(.invalidCertificate, "No PEM certificate found: expected '-----BEGIN CERTIFICATE-----'.")
        }
        return out
    }

    /// The first certificate in a PEM text.
    public convenience init(pem: String) throws {
        let first = try Certificate.parseAll(pem: pem)[0]
        guard X509_up_ref(first.x509) == 1 else { throw EnvelopeError(.invalidCertificate, "Out of memory.") }
        self.init(owning: first.x509)
    }

    /// Parses DER bytes.
    public convenience init(der: [UInt8]) throws {
        let x: OpaquePointer? = der.withUnsafeBufferPointer { buf in
            var p: UnsafePointer<UInt8>? = buf.baseAddress
            return d2i_X509(nil, &p, buf.count)
        }
        guard let x else { throw EnvelopeError(.invalidCertificate, "The bytes are not a DER X.509 certificate.") }
        self.init(owning: x)
    }

    /// Reads every certificate of a PEM file.
    public static func load(pemFile path: String) throws -> [Certificate] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw EnvelopeError(.unreadable, "Cannot read certificate file \(path): check the path.")
        }
        do { return try parseAll(pem: text) } catch let e as EnvelopeError {
            throw EnvelopeError(e.code, "\(path): \(e.message)")
        }
    }

    public var der: [UInt8] {
        var p: UnsafeMutablePointer<UInt8>?
        let n = i2d_X509(x509, &p)
        guard n > 0, let p else { return [] }
        defer { shim_OPENSSL_free(p) }
        return Array(UnsafeBufferPointer(start: p, count: Int(n)))
    }

    public var pem: String {
        guard let bio = try? MemoryBIO(), PEM_write_bio_X509(bio.bio, x509) == 1 else { return "" }
        return bio.string
    }

    /// SHA-256 of the DER encoding, lowercase hex: the fingerprint manifests and pins use.
    public var sha256Fingerprint: String { SHA256Hasher.hex(der) }

    public var subject: String { Certificate.render(X509_get_subject_name(x509)) }
    public var issuer: String { Certificate.render(X509_get_issuer_name(x509)) }
    public var description: String { subject }

    public var notBefore: Date { Certificate.date(X509_get0_notBefore(x509)) }
    public var notAfter: Date { Certificate.date(X509_get0_notAfter(x509)) }
    public var validity: CertificateValidity { CertificateValidity(notBefore: notBefore, notAfter: notAfter) }

    public var keyKind: KeyKind {
        guard let k = X509_get0_pubkey(x509) else { return .other("none") }
        return KeyKind.of(k)
    }

    /// The key usage extension, or nil when the certificate has none (any usage).
    public var keyUsage: KeyUsage? {
        X509_check_purpose(x509, -1, 0)   // caches extensions
        guard X509_get_extension_flags(x509) & UInt32(EXFLAG_KUSAGE) != 0 else { return nil }
        return KeyUsage(rawValue: X509_get_key_usage(x509))
    }

    public var isCA: Bool { X509_check_ca(x509) != 0 }

    /// Whether the certificate may sign CMS content (OpenSSL's S/MIME signing purpose: key usage
    /// digitalSignature or nonRepudiation when present, extended key usage emailProtection when present).
    /// TLS and encryption certificates from the same CA fail this check.
    public var allowsContentSigning: Bool { X509_check_purpose(x509, X509_PURPOSE_SMIME_SIGN, 0) == 1 }

    /// Whether this certificate may authenticate a TLS client (OpenSSL's `sslclient` purpose: key
    /// usage digitalSignature/keyAgreement when present, extended key usage clientAuth when
    /// present). A partner's document-signing certificate fails this check.
    public var allowsTLSClientAuthentication: Bool { X509_check_purpose(x509, X509_PURPOSE_SSL_CLIENT, 0) == 1 }

    /// Checks that this certificate chains to one of `anchors` at time `at`, through `intermediates`,
    /// and, when `crls` is not empty, that its CA has not revoked it.
    ///
    /// With CRLs, OpenSSL's CRL check (`X509_V_FLAG_CRL_CHECK`) applies to this certificate: the
    /// list of its issuer must be among `crls`, signed by that issuer and current at `at`. A
    /// certificate whose issuer has no list is refused, so revocation cannot be skipped by
    /// leaving a CA's list out.
    /// - Parameters:
    ///   - anchors: trusted roots (or intermediates treated as trust anchors).
    ///   - intermediates: untrusted certificates that may complete the chain.
    ///   - at: the time the chain (and the CRLs) must be valid at.
    ///   - crls: the revocation lists of the CAs; empty for no revocation check.
    /// - Throws: `EnvelopeError` with code `.untrusted`, `.revoked`, `.crlExpired` or `.invalidCRL`.
    public func verify(chainsTo anchors: [Certificate], intermediates: [Certificate] = [], at: Date,
                       crls: [CertificateRevocationList] = []) throws {
        let store = try TrustStore(anchors, crls: crls)
        guard let ctx = X509_STORE_CTX_new() else { throw EnvelopeError(.io, "Out of memory.") }
        defer { X509_STORE_CTX_free(ctx) }
        let chain = shim_sk_X509_new_null()
        defer { shim_sk_X509_free(chain) }
        for c in intermediates { _ = shim_sk_X509_push(chain, c.x509) }
        guard X509_STORE_CTX_init(ctx, store.store, x509, chain) == 1 else {
            throw EnvelopeError(.untrusted, "Could not set up certificate verification.")
        }
        X509_STORE_CTX_set_time(ctx, 0, time_t(at.timeIntervalSince1970))
        if X509_verify_cert(ctx) != 1 {
            let err = X509_STORE_CTX_get_error(ctx)
            let reason = String(cString: X509_verify_cert_error_string(Int(err)))
            switch err {
            case X509_V_ERR_CERT_REVOKED:
                throw EnvelopeError(.revoked, "Certificate '\(subject)' (serial \(serialNumber)) was revoked by its CA '\(issuer)': the CRL lists it.")
            case X509_V_ERR_CRL_HAS_EXPIRED:
                let next = crls.first { $0.issuer == issuer }?.nextUpdate.map { " at \(Timestamp.format($0))" } ?? ""
                throw EnvelopeError(.crlExpired, "The CRL of '\(issuer)' expired\(next) (its nextUpdate): certificates it covers are refused until a current CRL is loaded.")
            case X509_V_ERR_UNABLE_TO_GET_CRL:
                throw EnvelopeError(.invalidCRL, "There is no CRL for '\(issuer)', the CA that issued '\(subject)': add that CA's CRL.")
            case X509_V_ERR_CRL_NOT_YET_VALID, X509_V_ERR_CRL_SIGNATURE_FAILURE, X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE,
                 X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER, X509_V_ERR_KEYUSAGE_NO_CRL_SIGN, X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD,
                 X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD, X509_V_ERR_DIFFERENT_CRL_SCOPE, X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION:
                throw EnvelopeError(.invalidCRL, "The CRL of '\(issuer)' cannot be used to check '\(subject)': \(reason).")
            default:
                throw EnvelopeError(.untrusted, "Certificate '\(subject)' does not chain to the trust anchor: \(reason).")
            }
        }
    }

    /// Whether `issuer`'s key made this certificate's signature (the signature alone: no chain,
    /// times or purposes are checked). How the operator API's handshake tells that a client
    /// certificate was issued by the operator CA, whatever names it carries.
    public func isSigned(by issuer: Certificate) -> Bool {
        guard let key = X509_get0_pubkey(issuer.x509) else { return false }
        let ok = X509_verify(x509, key) == 1
        ERR_clear_error()
        return ok
    }

    /// The subject's common name (the first CN), or nil when it has none.
    public var commonName: String? {
        guard let name = X509_get_subject_name(x509) else { return nil }
        let index = X509_NAME_get_index_by_NID(name, NID_commonName, -1)
        guard index >= 0, let entry = X509_NAME_get_entry(name, index), let data = X509_NAME_ENTRY_get_data(entry) else { return nil }
        var utf8: UnsafeMutablePointer<UInt8>?
        let n = ASN1_STRING_to_UTF8(&utf8, data)
        guard n >= 0, let utf8 else { return nil }
        defer { shim_OPENSSL_free(utf8) }
        return String(decoding: UnsafeBufferPointer(start: utf8, count: Int(n)), as: UTF8.self)
    }

    /// The serial number, uppercase hex as `openssl x509 -serial` prints it.
    public var serialNumber: String {
        guard let bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x509), nil) else { return "" }
        defer { BN_free(bn) }
        guard let hex = BN_bn2hex(bn) else { return "" }
        defer { shim_OPENSSL_free(hex) }
        return String(cString: hex)
    }

    static func render(_ name: OpaquePointer?) -> String {
        guard let name, let bio = try? MemoryBIO() else { return "" }
        X509_NAME_print_ex(bio.bio, name, 0, shim_XN_FLAG_RFC2253())
        return bio.string
    }

    static func date(_ t: UnsafePointer<ASN1_TIME>?) -> Date {
        var tm = tm()
        guard let t, ASN1_TIME_to_tm(t, &tm) == 1 else { return .distantPast }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&tm)))
    }
}

/// An X509_STORE holding trust anchors and, when given, the CAs' revocation lists (which turns
/// on OpenSSL's CRL check for the leaf certificate).
final class TrustStore {
    let store: OpaquePointer

    init(_ anchors: [Certificate], crls: [CertificateRevocationList] = []) throws {
        guard let s = X509_STORE_new() else { throw EnvelopeError(.io, "Out of memory.") }
        store = s
        for a in anchors {
            guard X509_STORE_add_cert(s, a.x509) == 1 else {
                throw EnvelopeError(.invalidCertificate, "Could not add trust anchor '\(a.subject)'.")
            }
        }
        guard !crls.isEmpty else { return }
        for c in crls {
            guard X509_STORE_add_crl(s, c.crl) == 1 else {
                throw EnvelopeError(.invalidCRL, "Could not add the CRL of '\(c.issuer)'.")
            }
        }
        guard X509_STORE_set_flags(s, UInt(X509_V_FLAG_CRL_CHECK)) == 1 else {
            throw EnvelopeError(.io, "Could not turn on the CRL check.")
        }
    }
    deinit { X509_STORE_free(store) }
}
