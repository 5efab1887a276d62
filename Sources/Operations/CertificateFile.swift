import ClaimGateCore
import Envelope
import Foundation

/// Certificate files someone hands the gateway (an agreement's trust anchors and encryption
/// certificate, a rotation's next certificate, a partner's signer chain): read strictly, because
/// a file holding more than it should is a mistake worth stopping at. A private key pasted in by
/// accident is refused (and said to be exposed), as is any PEM block other than a certificate,
/// the same certificate twice, or, for a chain, a certificate that is not part of it.
enum CertificateFile {
    /// At most this many certificates in one file: a chain or a set of anchors, not a bundle.
    static let maxCertificates = 10

    /// Every certificate of the PEM file at `path`, in order.
    /// - Parameters:
    ///   - what: the file's name in sentences (a field or an option).
    ///   - files: where it is read from (by default from disk).
    /// - Throws: `unreadableInput` when the file cannot be read, `invalidArgument` otherwise.
    static func load(_ path: String, what: String, from files: InputFiles = InputFiles()) throws -> [Certificate] {
        let text = try files.text(path, what: "\(what) file", limit: 1 << 20)
        // Every "-----BEGIN " anywhere in the text, as OpenSSL's reader would find it (it also
        // skips a byte-order mark and anything up to a space after the label's dashes).
        var labels: [String] = []
        var rest = Substring(text)
        while let begin = rest.range(of: "-----BEGIN ") {
            let after = rest[begin.upperBound...]
            let end = after.range(of: "-----")
            labels.append(String(end.map { after[..<$0.lowerBound] } ?? after.prefix(40)))
            rest = end.map { after[$0.upperBound...] } ?? ""
        }
        if labels.contains(where: { $0.contains("PRIVATE KEY") }) {
            throw ClaimGateError(.invalidArgument,
                "\(path) holds a private key: give a file with the certificate only, and treat that key as exposed (ask its owner to replace it).")
        }
        if let other = labels.first(where: { $0 != "CERTIFICATE" }) {
            throw ClaimGateError(.invalidArgument,
                "\(path) holds a '\(EventReason.bounded(String(other.prefix(40))))' block: a certificate file holds only '-----BEGIN CERTIFICATE-----' blocks.")
        }
        guard labels.count <= maxCertificates else {
            throw ClaimGateError(.invalidArgument,
                "\(path) holds \(labels.count) certificates: give at most \(maxCertificates) (the certificate and its chain, or the anchors); is it the right file?")
        }
        let certificates: [Certificate]
        do { certificates = try Certificate.parseAll(pem: text) } catch let e as EnvelopeError {
            throw ClaimGateError(.invalidArgument, "\(path): \(e.message)")
        }
        guard certificates.count == labels.count else {
            throw ClaimGateError(.invalidArgument,
                "\(path): \(labels.count - certificates.count) of its \(labels.count) certificate blocks cannot be read: check the file is not cut or edited.")
        }
        var seen = Set<String>()
        for (i, c) in certificates.enumerated() where !seen.insert(c.sha256Fingerprint).inserted {
            throw ClaimGateError(.invalidArgument,
                "\(path) holds the certificate '\(c.subject)' twice (again as number \(i + 1)): give each certificate once.")
        }
        return certificates
    }

    /// A certificate followed by its chain, each certificate issued by the one after it.
    static func loadChain(_ path: String, what: String, from files: InputFiles = InputFiles()) throws -> [Certificate] {
        let chain = try load(path, what: what, from: files)
        for i in chain.indices.dropFirst() {
            let (child, parent) = (chain[i - 1], chain[i])
            guard parent.isCA, parent.subject == child.issuer else {
                throw ClaimGateError(.invalidArgument,
                    "\(path) holds more than the certificate and its chain: certificate \(i + 1) ('\(parent.subject)') did not issue certificate \(i) ('\(child.subject)'). Give the certificate, then each issuer in order.")
            }
        }
        return chain
    }
}
