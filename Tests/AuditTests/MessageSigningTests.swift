import ClaimGateTesting
import Envelope
import Foundation
import Testing

@Suite struct MessageSigningTests {
    @Test func signsAndVerifies() throws {
        let key = try MessageSigningKey.generate()
        let message = Array("claimgate".utf8)
        let signature = try key.sign(message)
        #expect(signature.count == 64)
        #expect(try key.sign(message) == signature)   // Ed25519 is deterministic
        #expect(key.publicKey.verify(signature: signature, message: message))
        #expect(!key.publicKey.verify(signature: signature, message: Array("claimgatE".utf8)))
        var bad = signature; bad[0] ^= 1
        #expect(!key.publicKey.verify(signature: bad, message: message))
        #expect(!key.publicKey.verify(signature: Array(signature.prefix(63)), message: message))
        #expect(!key.publicKey.verify(signature: [], message: message))
        let other = try MessageSigningKey.generate()
        #expect(!other.publicKey.verify(signature: signature, message: message))
        #expect(other.publicKey.keyID != key.publicKey.keyID)
        // The empty message is a message too.
        let empty = try key.sign([])
        #expect(key.publicKey.verify(signature: empty, message: []))
    }

    @Test func pemRoundTrips() throws {
        let key = try MessageSigningKey.generate()
        let pem = try key.pkcs8PEM()
        #expect(pem.hasPrefix("-----BEGIN " + "PRIVATE " + "KEY" + "-----"))
        let again = try MessageSigningKey(pem: pem)
        #expect(again.publicKey == key.publicKey)
        let pub = key.publicKey.pem
        #expect(pub.hasPrefix("-----BEGIN PUBLIC KEY-----"))
        let parsed = try MessageVerifyingKey(pem: pub)
        #expect(parsed == key.publicKey && parsed.keyID == key.publicKey.keyID)
        #expect(parsed.keyID == SHA256Hasher.hex(parsed.spkiDER) && parsed.keyID.count == 64)
        #expect(try MessageVerifyingKey(spkiDER: parsed.spkiDER) == parsed)
        #expect(parsed.verify(signature: try again.sign([1, 2, 3]), message: [1, 2, 3]))
    }

    @Test func refusesOtherKeysAndGarbage() throws {
        let ec = try PrivateKey.generate(.p256)
        #expect { try MessageSigningKey(pem: try ec.pkcs8PEM()) } throws: { ($0 as? EnvelopeError)?.code == .invalidKey }
        #expect(throws: EnvelopeError.self) { try MessageSigningKey(pem: "not a key") }
        #expect(throws: EnvelopeError.self) { try MessageVerifyingKey(pem: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n") }
        #expect(throws: EnvelopeError.self) { try MessageVerifyingKey(spkiDER: [0x30, 0x03, 0x02, 0x01, 0x00]) }
        #expect { try MessageSigningKey(pemFile: "/nonexistent/key.pem") } throws: { ($0 as? EnvelopeError)?.code == .unreadable }
    }

    /// The stock openssl command reads our keys, computes the same key id and accepts our signatures.
    @Test func stockOpenSSLAgrees() throws {
        let dir = TemporaryDirectory()
        let key = try MessageSigningKey.generate()
        let priv = try dir.write("signing.pem", try key.pkcs8PEM())
        let pub = try dir.write("signing.pub.pem", key.publicKey.pem)
        let message = Array("claimgate-audit-checkpoint-v1 test".utf8)
        try dir.write("msg", Data(message))
        try dir.write("sig", Data(try key.sign(message)))
        let id = try Shell.bash("openssl pkey -pubin -in '\(pub)' -outform DER | sha256sum | cut -d' ' -f1")
        #expect(id.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == key.publicKey.keyID)
        let verify = try Shell.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin",
                                    "-in", dir.file("msg"), "-sigfile", dir.file("sig")])
        #expect(verify.succeeded, "\(verify.stdout) \(verify.stderr)")
        // And the other way round: openssl's key and signature, our verification.
        let made = try Shell.bash("openssl genpkey -algorithm ed25519 -out k.pem && openssl pkey -in k.pem -pubout -out k.pub && openssl pkeyutl -sign -inkey k.pem -rawin -in msg -out s", directory: dir.path)
        #expect(made.succeeded, "\(made.stderr)")
        let theirs = try MessageSigningKey(pemFile: dir.file("k.pem"))
        let theirPub = try MessageVerifyingKey(pemFile: dir.file("k.pub"))
        #expect(theirs.publicKey == theirPub)
        let sig = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.file("s"))))
        #expect(theirPub.verify(signature: sig, message: message))
        _ = priv
    }
}

@Suite struct SHA256DigesterTests {
    @Test func matchesSHA256Hasher() {
        let d = SHA256Digester()
        for message in [[UInt8](), Array("abc".utf8), [UInt8](repeating: 7, count: 10_000)] {
            #expect(Hex.encode(d.digest(message)) == SHA256Hasher.hex(message))
        }
        #expect(Hex.encode(d.digest([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
