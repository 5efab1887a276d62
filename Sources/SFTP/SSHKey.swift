import CLibSSH
import Foundation

/// An error handling SSH keys.
public struct SSHKeyError: Error, Hashable, Sendable, CustomStringConvertible {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// An SSH public key from an OpenSSH `authorized_keys` line, parsed and checked by libssh.
public struct SSHPublicKey: Sendable, Hashable, CustomStringConvertible {
    /// `ssh-ed25519`, `ecdsa-sha2-nistp256`, `rsa-sha2-…` keys appear as `ssh-rsa`.
    public let type: String
    /// The base64 key blob.
    public let base64: String
    public let comment: String?
    /// `SHA256:…` as `ssh-keygen -lf` prints it.
    public let fingerprint: String

    /// Key types accepted for partner logins.
    public static let acceptedTypes: Set<String> = [
        "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa",
    ]

    /// Parses `TYPE BASE64 [COMMENT]`. RSA keys must have at least 2048 bits.
    public init(authorizedKeyLine line: String) throws {
        let parts = line.trimmingCharacters(in: .whitespacesAndNewlines)
            .split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard parts.count >= 2 else {
            throw SSHKeyError("'\(line.prefix(40))…' is not an OpenSSH public key line: expected 'ssh-ed25519 AAAA… comment'.")
        }
        let type = String(parts[0])
        guard Self.acceptedTypes.contains(type) else {
            throw SSHKeyError("SSH key type '\(type.prefix(40))' is not accepted: use ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa (2048 bits or more).")
        }
        var key: ssh_key?
        let rc = ssh_pki_import_pubkey_base64(String(parts[1]), ssh_key_type_from_name(type), &key)
        guard rc == SSH_OK, let key else {
            throw SSHKeyError("The \(type) key '\(parts[1].prefix(24))…' does not parse: copy the whole line from the partner's .pub file.")
        }
        defer { ssh_key_free(key) }
        if type == "ssh-rsa", let bits = Self.rsaModulusBits(base64: String(parts[1])), bits < 2048 {
            throw SSHKeyError("The RSA SSH key has \(bits) bits: at least 2048 are required.")
        }
        self.type = type
        self.base64 = String(parts[1])
        self.comment = parts.count > 2 ? String(parts[2]) : nil
        self.fingerprint = try Self.fingerprint(of: key)
    }

    /// The line without its comment: `TYPE BASE64`.
    public var description: String { "\(type) \(base64)" }

    /// The authorized_keys line: `TYPE BASE64 [COMMENT]`.
    public var line: String { comment.map { "\(type) \(base64) \($0)" } ?? description }

    /// Bits of the modulus in an `ssh-rsa` blob (string type, mpint e, mpint n).
    static func rsaModulusBits(base64: String) -> Int? {
        guard let blob = Data(base64Encoded: base64).map(Array.init) else { return nil }
        var i = 0
        func field() -> ArraySlice<UInt8>? {
            guard i + 4 <= blob.count else { return nil }
            let n = blob[i..<i + 4].reduce(0) { $0 << 8 | Int($1) }
            i += 4
            guard n >= 0, i + n <= blob.count else { return nil }
            defer { i += n }
            return blob[i..<i + n]
        }
        guard field() != nil, field() != nil, let n = field() else { return nil }
        let significant = n.drop { $0 == 0 }
        guard let top = significant.first else { return 0 }
        return (significant.count - 1) * 8 + (8 - top.leadingZeroBitCount)
    }

    static func fingerprint(of key: ssh_key) throws -> String {
        var hash: UnsafeMutablePointer<UInt8>?
        var len = 0
        guard ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &len) == 0, let hash else {
            throw SSHKeyError("Cannot compute the SSH key's fingerprint.")
        }
        defer { var h: UnsafeMutablePointer<UInt8>? = hash; ssh_clean_pubkey_hash(&h) }
        guard let fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, len) else {
            throw SSHKeyError("Cannot compute the SSH key's fingerprint.")
        }
        defer { ssh_string_free_char(fp) }
        return String(cString: fp)
    }
}

/// An SSH key pair the gateway owns (its host key and its client key), stored in OpenSSH format.
public enum SSHKeyPair {
    /// Generates an Ed25519 key, writes the private key to `privatePath` (mode 0600, OpenSSH format)
    /// and the public line to `privatePath.pub`; returns the public key.
    public static func generateEd25519(privatePath: String, comment: String) throws -> SSHPublicKey {
        var key: ssh_key?
        guard ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) == SSH_OK, let key else {
            throw SSHKeyError("Could not generate an Ed25519 SSH key.")
        }
        defer { ssh_key_free(key) }
        let old = umask(0o077)
        defer { umask(old) }
        guard ssh_pki_export_privkey_file(key, nil, nil, nil, privatePath) == SSH_OK else {
            throw SSHKeyError("Could not write the SSH private key to \(privatePath).")
        }
        chmod(privatePath, 0o600)
        var b64: UnsafeMutablePointer<CChar>?
        guard ssh_pki_export_pubkey_base64(key, &b64) == SSH_OK, let b64 else {
            throw SSHKeyError("Could not export the SSH public key.")
        }
        defer { ssh_string_free_char(b64) }
        let line = "ssh-ed25519 \(String(cString: b64)) \(comment)"
        try (line + "\n").write(toFile: privatePath + ".pub", atomically: true, encoding: .utf8)
        chmod(privatePath + ".pub", 0o644)
        return try SSHPublicKey(authorizedKeyLine: line)
    }

    /// Reads the public line stored next to a private key (`PATH.pub`).
    public static func publicKey(ofPrivateKeyAt privatePath: String) throws -> SSHPublicKey {
        guard let line = try? String(contentsOfFile: privatePath + ".pub", encoding: .utf8) else {
            throw SSHKeyError("Cannot read \(privatePath).pub: run `claimgate init` to create the gateway's SSH keys.")
        }
        return try SSHPublicKey(authorizedKeyLine: line)
    }
}
