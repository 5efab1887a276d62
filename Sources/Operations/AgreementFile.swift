import ClaimGateCore
import Envelope
import Foundation
import SFTP
import Yams

/// A partner agreement file (`partners/*.yaml`) as written by admins. Paths are relative to the
/// file. `AgreementFile.load` reads, resolves and validates it into a `PartnerAgreement`.
/// Every field is documented in docs/agreements.md.
struct AgreementFile: Decodable {
    struct Terms: Decodable {
        var reference: String
        var purposes: [String]
        var document_types: [String]
        var max_retention_days: Int
        var valid_until: String
    }
    struct Certificates: Decodable {
        var encryption: String
        var trust_anchor: String
        var tls_client: TLSClient?
        var next_encryption: NextEncryption?
        var crl: String?
    }
    struct NextEncryption: Decodable {
        var certificate: String
        var from: String
    }
    struct TLSClient: Decodable {
        var fingerprints: [String]?
        var subjects: [String]?
    }
    struct SSH: Decodable {
        var authorized_keys: [String]?
        var authorized_keys_file: String?
    }
    struct SFTPPush: Decodable {
        var host: String
        var port: Int?
        var user: String
        var path: String
        var host_key: String
    }
    struct HTTPSPush: Decodable {
        var url: String
    }
    struct Push: Decodable {
        var sftp: SFTPPush?
        var https: HTTPSPush?
    }
    struct Delivery: Decodable {
        var push: Push?
        var pull: [String]?
    }

    var id: String
    var name: String
    var role: String
    var agreement: Terms
    var certificates: Certificates
    var ssh: SSH?
    var delivery: Delivery?
    var masking: [String]?

    /// Known keys at each level, to catch typos that would otherwise be silently ignored.
    static let knownKeys: [String: Set<String>] = [
        "": ["id", "name", "role", "agreement", "certificates", "ssh", "delivery", "masking"],
        "agreement": ["reference", "purposes", "document_types", "max_retention_days", "valid_until"],
        "certificates": ["encryption", "trust_anchor", "tls_client", "next_encryption", "crl"],
        "certificates.next_encryption": ["certificate", "from"],
        "certificates.tls_client": ["fingerprints", "subjects"],
        "ssh": ["authorized_keys", "authorized_keys_file"],
        "delivery": ["push", "pull"],
        "delivery.push": ["sftp", "https"],
        "delivery.push.sftp": ["host", "port", "user", "path", "host_key"],
        "delivery.push.https": ["url"],
    ]
}

/// Reads, resolves and validates agreement files.
public enum AgreementLoader {
    /// An agreement file is a page of YAML; anything larger is not one.
    public static let maxAgreementFileSize = 1 << 20

    /// The `id` of an agreement file if it can be read at all, for recording a refusal.
    /// - Parameter files: the files sent with the change (nothing is read from disk then); nil
    ///   to read the file from disk.
    static func peekPartnerID(path: String, files: InputFiles? = nil) -> PartnerID? {
        let read = files.map { f in try? f.text(path, what: "agreement file", limit: maxAgreementFileSize) }
            ?? (try? FileSystem.readInput(path, what: "agreement file"))
        guard let text = read,
              let node = try? Yams.compose(yaml: text), let id = node["id"]?.string else { return nil }
        return try? PartnerID(id)
    }

    /// Loads the agreement file at `path` and validates everything onboarding requires.
    /// - Parameter files: where the agreement file and the files it names are read from: the
    ///   disk (the default; `files` keeps what was read, for a change that waits for approval),
    ///   or the files a pending change kept.
    /// - Returns: the resolved agreement and the file's text (kept with the agreement version).
    public static func load(path: String, files: InputFiles = InputFiles(), clock: any WallClock) throws -> (PartnerAgreement, String) {
        let text = try files.text(path, what: "agreement file", limit: maxAgreementFileSize)
        let baseDir = (FileSystem.absolute(path) as NSString).deletingLastPathComponent
        func fail(_ field: String, _ message: String) -> ClaimGateError {
            ClaimGateError(.invalidAgreement, "\(path): \(field.isEmpty ? "" : field + ": ")\(message)")
        }

        let file: AgreementFile
        do {
            guard let node = try Yams.compose(yaml: text) else { throw fail("", "the file is empty: start from partners/acme-assessors.yaml.") }
            try checkKeys(node, path: "", fail: fail)
            file = try YAMLDecoder().decode(AgreementFile.self, from: node)
        } catch let e as ClaimGateError {
            throw e
        } catch let DecodingError.keyNotFound(key, ctx) {
            throw fail((ctx.codingPath + [key]).map(\.stringValue).joined(separator: "."), "is missing: add it (see docs/agreements.md).")
        } catch let DecodingError.typeMismatch(_, ctx), let DecodingError.valueNotFound(_, ctx) {
            throw fail(ctx.codingPath.map(\.stringValue).joined(separator: "."), "has the wrong type: see docs/agreements.md.")
        } catch {
            throw fail("", "is not valid YAML: \(String(describing: error).prefix(200))")
        }

        guard PartnerID.isValid(file.id) else {
            throw fail("id", "'\(file.id.prefix(80))' is not valid: use 2 to 64 characters from a-z, 0-9 and '-', starting with a letter or digit.")
        }
        let id = try PartnerID(file.id)
        guard !file.name.trimmingCharacters(in: .whitespaces).isEmpty else { throw fail("name", "must not be empty.") }
        guard let role = PartnerRole(rawValue: file.role) else {
            throw fail("role", "'\(file.role.prefix(40))' is not a role: use assessor or institution.")
        }

        let t = file.agreement
        guard !t.reference.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw fail("agreement.reference", "must name the signed data-sharing agreement.")
        }
        guard !t.purposes.isEmpty, t.purposes.allSatisfy({ !$0.isEmpty }) else {
            throw fail("agreement.purposes", "must list at least one purpose.")
        }
        guard Set(t.purposes).count == t.purposes.count else { throw fail("agreement.purposes", "lists a purpose twice.") }
        guard !t.document_types.isEmpty else { throw fail("agreement.document_types", "must list at least one media type.") }
        for type in t.document_types where !MediaTypeSniffer.recognisedTypes.contains(type) {
            throw fail("agreement.document_types", "'\(type.prefix(60))' is not a media type ClaimGate recognises from content: use \(MediaTypeSniffer.recognisedTypes.joined(separator: ", ")).")
        }
        guard t.max_retention_days > 0 else { throw fail("agreement.max_retention_days", "must be more than 0.") }
        let validUntil: CalendarDay
        do { validUntil = try CalendarDay(parsing: t.valid_until) } catch {
            throw fail("agreement.valid_until", "'\(t.valid_until.prefix(40))' is not a date: use YYYY-MM-DD.")
        }
        let now = clock.now
        guard now < validUntil.endOfDay else {
            throw fail("agreement.valid_until", "\(validUntil) is already past: onboard the renewed agreement's date.")
        }

        // Certificates.
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : baseDir + "/" + p }
        func certificates(_ field: String, _ p: String, chain: Bool = false) throws -> [Certificate] {
            do {
                return chain ? try CertificateFile.loadChain(resolve(p), what: field, from: files)
                    : try CertificateFile.load(resolve(p), what: field, from: files)
            } catch let e as ClaimGateError {
                throw e.code == .unreadableInput ? ClaimGateError(.unreadableInput, "\(path): \(field): \(e.message)") : fail(field, e.message)
            }
        }
        let anchors = try certificates("certificates.trust_anchor", file.certificates.trust_anchor)
        for a in anchors {
            guard a.isCA else { throw fail("certificates.trust_anchor", "'\(a.subject)' is not a CA certificate: give the partner's issuing CA.") }
            try checkValidity(a, "certificates.trust_anchor", now: now, fail: fail)
        }
        var crls: [CertificateRevocationList] = []
        if let p = file.certificates.crl {
            let bytes: [UInt8]
            do { bytes = try files.bytes(resolve(p), what: "certificates.crl file", limit: 16 << 20) } catch let e as ClaimGateError {
                throw e.code == .unreadableInput ? ClaimGateError(.unreadableInput, "\(path): certificates.crl: \(e.message)") : fail("certificates.crl", e.message)
            }
            do { crls = try CertificateRevocationList.parse(bytes) } catch let e as EnvelopeError {
                throw fail("certificates.crl", e.message)
            }
            for c in crls {
                do { try c.check(signedBy: anchors, at: now) } catch let e as EnvelopeError {
                    throw fail("certificates.crl", e.message)
                }
            }
        }
        // Encryption, and a rotation announced in advance. A rotation whose day has begun is
        // folded in: the next certificate is the encryption certificate, the old one is retired.
        let encChain = try certificates("certificates.encryption", file.certificates.encryption, chain: true)
        var enc = encChain[0]
        var next: (certificate: Certificate, from: CalendarDay)?
        if let n = file.certificates.next_encryption {
            let from: CalendarDay
            do { from = try CalendarDay(parsing: n.from) } catch {
                throw fail("certificates.next_encryption.from", "'\(n.from.prefix(40))' is not a date: use YYYY-MM-DD.")
            }
            guard from <= validUntil else {
                throw fail("certificates.next_encryption.from", "\(from) is after the agreement ends (\(validUntil)): the new certificate would never be used.")
            }
            let nextChain = try certificates("certificates.next_encryption.certificate", n.certificate, chain: true)
            guard nextChain[0].sha256Fingerprint != enc.sha256Fingerprint else {
                throw fail("certificates.next_encryption.certificate", "is the same certificate as certificates.encryption: give the partner's new one.")
            }
            let takesEffect = max(now, from.startOfDay)
            try checkEncryption(nextChain, field: "certificates.next_encryption.certificate", anchors: anchors, crls: crls,
                                at: takesEffect, fail: fail)
            if now >= from.startOfDay {
                enc = nextChain[0]
            } else {
                try checkEncryption(encChain, field: "certificates.encryption", anchors: anchors, crls: crls, at: now, fail: fail)
                next = (nextChain[0], from)
            }
        } else {
            try checkEncryption(encChain, field: "certificates.encryption", anchors: anchors, crls: crls, at: now, fail: fail)
        }

        // SSH keys.
        var keyLines = file.ssh?.authorized_keys ?? []
        if let f = file.ssh?.authorized_keys_file {
            let content = try files.text(resolve(f), what: "ssh.authorized_keys_file")
            keyLines += content.split(whereSeparator: \.isNewline).map(String.init)
                .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty && !$0.hasPrefix("#") }
        }
        var sshKeys: [String] = []
        for (i, line) in keyLines.enumerated() {
            do { sshKeys.append(try SSHPublicKey(authorizedKeyLine: line).line) } catch let e as SSHKeyError {
                throw fail("ssh.authorized_keys[\(i)]", e.message)
            }
        }

        // Delivery.
        var delivery = DeliveryTerms()
        if let s = file.delivery?.push?.sftp {
            guard !s.host.isEmpty else { throw fail("delivery.push.sftp.host", "must not be empty.") }
            guard !s.user.isEmpty else { throw fail("delivery.push.sftp.user", "must not be empty.") }
            let port = s.port ?? 22
            guard (1...65535).contains(port) else { throw fail("delivery.push.sftp.port", "\(port) is not a TCP port.") }
            guard s.path.hasPrefix("/") else { throw fail("delivery.push.sftp.path", "must be an absolute path such as /inbound.") }
            guard s.host_key.hasPrefix("SHA256:"), Data(base64Encoded: String(s.host_key.dropFirst(7)) + "=")?.count == 32 else {
                throw fail("delivery.push.sftp.host_key", "must be the server's pinned key as `ssh-keygen -lf` prints it: SHA256:<43 base64 characters>.")
            }
            delivery.pushSFTP = SFTPPushTarget(host: s.host, port: port, user: s.user, path: s.path, hostKey: s.host_key)
        }
        if let h = file.delivery?.push?.https {
            guard let url = URL(string: h.url), url.scheme == "https", url.host != nil else {
                throw fail("delivery.push.https.url", "'\(h.url.prefix(80))' is not an https:// URL.")
            }
            delivery.pushHTTPS = HTTPSPushTarget(url: h.url)
        }
        for p in file.delivery?.pull ?? [] {
            guard let t = PullTransport(rawValue: p) else { throw fail("delivery.pull", "'\(p.prefix(40))' is not a transport: use sftp or https.") }
            guard !delivery.pull.contains(t) else { throw fail("delivery.pull", "lists \(p) twice.") }
            delivery.pull.append(t)
        }
        if delivery.pull.contains(.sftp), sshKeys.isEmpty {
            throw fail("delivery.pull", "sftp needs at least one key in ssh.authorized_keys or ssh.authorized_keys_file.")
        }
        var pinnedFingerprints: [String] = []
        for f in file.certificates.tls_client?.fingerprints ?? [] {
            // Accept what `openssl x509 -noout -fingerprint -sha256` prints, with or without its prefix.
            var hex = f.lowercased()
            if let eq = hex.lastIndex(of: "=") { hex = String(hex[hex.index(after: eq)...]) }
            if hex.hasPrefix("sha256:") { hex.removeFirst(7) }
            hex = hex.replacingOccurrences(of: ":", with: "").trimmingCharacters(in: .whitespaces)
            guard hex.count == 64, hex.allSatisfy(\.isHexDigit) else {
                throw fail("certificates.tls_client.fingerprints", "'\(f.prefix(110))' is not a SHA-256 fingerprint: use `openssl x509 -noout -fingerprint -sha256 -in CLIENT.pem`.")
            }
            pinnedFingerprints.append(hex)
        }
        let pinnedSubjects = file.certificates.tls_client?.subjects ?? []
        for s in pinnedSubjects where s.isEmpty || !s.contains("=") {
            throw fail("certificates.tls_client.subjects", "'\(s.prefix(110))' is not a subject: use `openssl x509 -noout -subject -nameopt RFC2253 -in CLIENT.pem` without 'subject='.")
        }
        if file.certificates.tls_client != nil, pinnedFingerprints.isEmpty, pinnedSubjects.isEmpty {
            throw fail("certificates.tls_client", "lists no fingerprints and no subjects: remove it, or pin the partner's client certificates.")
        }
        let masking = file.masking ?? []
        do { try Masking.validateNames(masking, usage: "give metadata field names such as claimant.national_id, each") } catch let e as ClaimGateError {
            throw fail("masking", e.message)
        }

        let agreement = PartnerAgreement(
            id: id, name: file.name, role: role,
            terms: AgreementTerms(reference: t.reference, purposes: t.purposes, documentTypes: t.document_types,
                                  maxRetentionDays: t.max_retention_days, validUntil: validUntil),
            certificates: PartnerCertificates(encryptionPEM: enc.pem, trustAnchorPEM: anchors.map(\.pem).joined(),
                                              tlsClientFingerprints: pinnedFingerprints,
                                              tlsClientSubjects: pinnedSubjects.map { $0.hasPrefix("subject=") ? String($0.dropFirst(8)) : $0 },
                                              nextEncryptionPEM: next?.certificate.pem, nextEncryptionFrom: next?.from,
                                              crlPEM: crls.isEmpty ? nil : crls.map(\.pem).joined()),
            sshAuthorizedKeys: sshKeys, delivery: delivery, masking: masking)
        return (agreement, text)
    }

    /// A new agreement version's certificates with the encryption certificate rolled over to
    /// the one in `encryptionFile`: from the start of `from` (UTC) when that day is still to
    /// come, otherwise at once. The certificate gets the checks `certificates.encryption` gets
    /// (key kind and usage, validity when it takes effect, chain to the trust anchor, not
    /// revoked by the agreement's CRL). A rotation already due is folded in first.
    /// - Parameters:
    ///   - current: the partner's current agreement.
    ///   - encryptionFile: the new certificate (PEM; intermediates may follow it).
    ///   - files: where `encryptionFile` is read from (see `load`).
    ///   - from: the first UTC day new bundles are encrypted to it; nil for now.
    /// - Returns: the agreement to store as the next version.
    public static func rotated(_ current: PartnerAgreement, encryptionFile: String, files: InputFiles = InputFiles(),
                               from: CalendarDay?, clock: any WallClock) throws -> PartnerAgreement {
        let now = clock.now
        func fail(_ field: String, _ message: String) -> ClaimGateError {
            ClaimGateError(.invalidArgument, "\(field): \(message)")
        }
        let chain: [Certificate]
        do { chain = try CertificateFile.loadChain(encryptionFile, what: "--encryption", from: files) } catch let e as ClaimGateError {
            throw ClaimGateError(e.code == .unreadableInput ? .unreadableInput : .invalidArgument, "--encryption: \(e.message)")
        }
        let anchors: [Certificate], crls: [CertificateRevocationList]
        do {
            anchors = try Certificate.parseAll(pem: current.certificates.trustAnchorPEM)
            crls = try current.certificates.crlPEM.map(CertificateRevocationList.parseAll(pem:)) ?? []
        } catch let e as EnvelopeError {
            throw ClaimGateError(.invalidAgreement, "\(current.id)'s stored agreement cannot be read (\(e.message)): run `claimgate partner update` with its agreement file.")
        }
        var agreement = current
        agreement.certificates = current.certificates.folded(at: now)
        guard chain[0].sha256Fingerprint != (try? Certificate(pem: agreement.certificates.encryptionPEM))?.sha256Fingerprint else {
            throw fail("--encryption", "is already \(current.id)'s encryption certificate.")
        }
        if let from, now < from.startOfDay {
            guard from <= current.terms.validUntil else {
                throw fail("--from", "\(from) is after agreement \(current.terms.reference) ends (\(current.terms.validUntil)): the new certificate would never be used.")
            }
            try checkEncryption(chain, field: "--encryption", anchors: anchors, crls: crls, at: from.startOfDay, fail: fail)
            agreement.certificates.nextEncryptionPEM = chain[0].pem
            agreement.certificates.nextEncryptionFrom = from
        } else {
            try checkEncryption(chain, field: "--encryption", anchors: anchors, crls: crls, at: now, fail: fail)
            agreement.certificates.encryptionPEM = chain[0].pem
            agreement.certificates.nextEncryptionPEM = nil
            agreement.certificates.nextEncryptionFrom = nil
        }
        return agreement
    }

    /// The checks an encryption certificate gets, at the time `at` it is (or will be) used:
    /// validity, key kind and usage, chain to the anchors, not listed in the CRLs.
    private static func checkEncryption(_ chain: [Certificate], field: String, anchors: [Certificate],
                                        crls: [CertificateRevocationList], at: Date,
                                        fail: (String, String) -> ClaimGateError) throws {
        let enc = chain[0]
        try checkValidity(enc, field, now: at, fail: fail)
        guard enc.keyKind.isAcceptedForExchange else {
            throw fail(field, "has a \(enc.keyKind) key: use RSA of 2048 bits or more, or EC P-256 or P-384.")
        }
        if let usage = enc.keyUsage {
            switch enc.keyKind {
            case .rsa where !usage.contains(.keyEncipherment):
                throw fail(field, "its key usage does not allow keyEncipherment (a signing-only certificate?): ask the partner for an encryption certificate.")
            case .ec where !usage.contains(.keyAgreement):
                throw fail(field, "its key usage does not allow keyAgreement (a signing-only certificate?): ask the partner for an encryption certificate.")
            default: break
            }
        }
        do { try enc.verify(chainsTo: anchors, intermediates: Array(chain.dropFirst()), at: at) } catch let e as EnvelopeError {
            throw fail(field, e.message)
        }
        if crls.contains(where: { $0.lists(enc) }) {
            throw fail(field, "'\(enc.subject)' is revoked: its CA's CRL (certificates.crl) lists it. Ask the partner for a current certificate.")
        }
    }

    private static func checkValidity(_ c: Certificate, _ field: String, now: Date,
                                      fail: (String, String) -> ClaimGateError) throws {
        if now < c.notBefore {
            throw fail(field, "'\(c.subject)' is not valid before \(Timestamp.format(c.notBefore)).")
        }
        if now >= c.notAfter {
            throw fail(field, "'\(c.subject)' expired on \(Timestamp.format(c.notAfter)): ask the partner for a current certificate.")
        }
    }

    private static func checkKeys(_ node: Node, path: String, fail: (String, String) -> ClaimGateError) throws {
        guard let mapping = node.mapping, let known = AgreementFile.knownKeys[path] else { return }
        for (k, v) in mapping {
            guard let key = k.string else { continue }
            let full = path.isEmpty ? key : path + "." + key
            guard known.contains(key) else {
                throw fail(full, "is not a known field: check its spelling against docs/agreements.md.")
            }
            try checkKeys(v, path: full, fail: fail)
        }
    }
}
