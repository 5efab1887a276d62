import ClaimGateTesting
import Foundation
import SFTP
import Testing

@Suite struct SSHKeyTests {
    @Test func generatedKeyMatchesOpenSSH() throws {
        let dir = TemporaryDirectory()
        let key = try SSHKeyPair.generateEd25519(privatePath: dir.file("id"), comment: "test@claimgate")
        #expect(key.line.hasPrefix("ssh-ed25519 AAAA"))
        #expect(key.comment == "test@claimgate")
        let attrs = try FileManager.default.attributesOfItem(atPath: dir.file("id"))
        #expect((attrs[.posixPermissions] as? Int) == 0o600)
        let keygen = try Shell.run(["ssh-keygen", "-lf", dir.file("id.pub")])
        try #require(keygen.succeeded, "ssh-keygen: \(keygen.stderr)")
        #expect(keygen.stdout.contains(key.fingerprint))
        // OpenSSH can read the private key and derive the same public key.
        let derived = try Shell.run(["ssh-keygen", "-y", "-f", dir.file("id")])
        #expect(derived.stdout.hasPrefix(key.description))
    }

    @Test func keysMadeByOpenSSHParse() throws {
        let dir = TemporaryDirectory()
        for (type, bits) in [("ed25519", ""), ("ecdsa", "256"), ("rsa", "3072"), ("rsa", "1024")] {
            let file = dir.file("k-\(type)\(bits)")
            let args = ["ssh-keygen", "-q", "-t", type, "-N", "", "-f", file, "-C", "ops@partner"] + (bits.isEmpty ? [] : ["-b", bits])
            try #require(try Shell.run(args).succeeded)
            let line = try String(contentsOfFile: file + ".pub", encoding: .utf8)
            if bits == "1024" {
                #expect(throws: SSHKeyError.self) { try SSHPublicKey(authorizedKeyLine: line) }
                continue
            }
            let key = try SSHPublicKey(authorizedKeyLine: line)
            let fp = try Shell.run(["ssh-keygen", "-lf", file + ".pub"])
            #expect(fp.stdout.contains(key.fingerprint), "\(type)")
        }
    }

    @Test func malformedLinesAreRefused() {
        for bad in ["", "ssh-ed25519", "ssh-ed25519 !!!", "ssh-dss AAAAB3NzaC1kc3MAAACBAP", "hello world",
                    "ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ"] {
            #expect(throws: SSHKeyError.self, "\(bad)") { try SSHPublicKey(authorizedKeyLine: bad) }
        }
    }
}
