import ClaimGateTesting
@_spi(Fuzzing) import Envelope
import Foundation
import Testing

/// The streaming opener: same results as BundleOpener on bundles from BundleSealWriter and from
/// the stock `openssl cms` commands; every alteration, truncation and disallowed construct
/// refused with its reason, leaving nothing in the output folder.
@Suite struct StreamingOpenerTests {
    typealias Recipient = StreamingFixture.Recipient
    let f = StreamingFixture.shared

    // MARK: - Opening

    @Test(arguments: Recipient.all, [1, 300_000, 2_500_000])
    func writerBundlesOpenToTheSameBytesAsBundleOpener(recipient: Recipient, size: Int) throws {
        let work = f.scratch(), out = f.scratch()
        let content = StreamingFixture.content(size, seed: UInt64(size + 7))
        let bundle = try f.seal(content, to: recipient, in: work)
        let (opened, v) = try f.openStreaming(bundle, as: recipient, into: out.path)
        #expect(opened == content)
        #expect(try f.openWithBundleOpener(bundle, as: recipient, in: work) == content)
        #expect(v.signer.sha256Fingerprint == f.signer.sha256Fingerprint)
        #expect(v.contentLength == Int64(size))
        #expect(v.contentSHA256 == SHA256Hasher.hex(Data(content)))
        #expect(out.listing() == [(v.contentPath as NSString).lastPathComponent])
        let mode = try FileManager.default.attributesOfItem(atPath: v.contentPath)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    struct StockCase: Sendable, CustomStringConvertible {
        let description: String
        let signer: String
        let signOptions: [String]
        let streamSign: Bool
        let streamEncrypt: Bool
        let recipient: Recipient
    }

    static let stockCases = [
        StockCase(description: "EC signer, streamed, RSA-OAEP", signer: "signer", signOptions: [], streamSign: true, streamEncrypt: true, recipient: .rsa),
        StockCase(description: "EC signer, DER, ECDH P-256", signer: "signer", signOptions: [], streamSign: false, streamEncrypt: false, recipient: .p256),
        StockCase(description: "EC signer, mixed, ECDH P-384", signer: "signer", signOptions: [], streamSign: true, streamEncrypt: false, recipient: .p384),
        StockCase(description: "RSA PKCS#1 v1.5 signer", signer: "rsa-signer", signOptions: [], streamSign: true, streamEncrypt: true, recipient: .rsa),
        StockCase(description: "RSA-PSS signer", signer: "rsa-signer", signOptions: ["-keyopt", "rsa_padding_mode:pss"], streamSign: false, streamEncrypt: true, recipient: .p256),
        StockCase(description: "signer named by key id", signer: "signer", signOptions: ["-keyid"], streamSign: true, streamEncrypt: true, recipient: .p384),
        StockCase(description: "CAdES signing-certificate-v2", signer: "signer", signOptions: ["-cades"], streamSign: true, streamEncrypt: true, recipient: .rsa),
        StockCase(description: "no S/MIME capabilities", signer: "signer", signOptions: ["-nosmimecap"], streamSign: false, streamEncrypt: true, recipient: .rsa),
    ]

    @Test(arguments: stockCases)
    func stockOpenSSLBundlesOpenToTheSameBytesAsBundleOpener(c: StockCase) throws {
        let work = f.scratch(), out = f.scratch()
        let content = StreamingFixture.content(200_003, seed: 3)
        let input = try StreamingSurgery.write(content, to: work.file("content.tar"))
        let signed = try f.opensslSign(input, in: work, signer: c.signer, stream: c.streamSign, extra: c.signOptions)
        let bundle = try f.opensslEncrypt(signed, to: c.recipient, in: work, stream: c.streamEncrypt)
        let (opened, v) = try f.openStreaming(bundle, as: c.recipient, into: out.path)
        #expect(opened == content)
        #expect(try f.openWithBundleOpener(bundle, as: c.recipient, in: work) == content)
        #expect(v.signer.subject.contains(c.signer == "signer" ? "CN=bundle signing" : "CN=rsa bundle signing"))
    }

    /// Recipients named by subject key identifier (`-keyid`), and a bundle for several recipients.
    @Test func keyIdentifiersAndSeveralRecipients() throws {
        let work = f.scratch()
        let content = StreamingFixture.content(20_000, seed: 8)
        let signed = try f.opensslSign(try StreamingSurgery.write(content, to: work.file("c.tar")), in: work)
        for r in Recipient.all {
            let bundle = try f.opensslEncrypt(signed, to: r, in: work, keyOptions: ["-keyid"] + r.profileKeyOptions)
            let out = f.scratch()
            #expect(try f.openStreaming(bundle, as: r, into: out.path).content == content)
        }
        let several = work.file("several.p7m")
        try f.run(["openssl", "cms", "-encrypt", "-binary", "-aes-256-gcm", "-stream",
                   "-recip", f.pem("rsa-recipient")] + Recipient.rsa.profileKeyOptions
                  + ["-recip", f.pem("p384-recipient")] + Recipient.p384.profileKeyOptions
                  + ["-recip", f.pem("p256-recipient")] + Recipient.p256.profileKeyOptions
                  + ["-in", signed, "-outform", "DER", "-out", several])
        for r in Recipient.all {
            let out = f.scratch()
            #expect(try f.openStreaming(several, as: r, into: out.path).content == content)
        }
    }

    /// Empty content. OpenSSL's streaming writers (BundleSealWriter, `cms -sign -stream`) fail on
    /// it; the non-streaming stock command writes it.
    @Test func emptyContentOpens() throws {
        let work = f.scratch(), out = f.scratch()
        let input = try StreamingSurgery.write([], to: work.file("empty.tar"))
        for stream in [true, false] {
            let bundle = try f.opensslEncrypt(try f.opensslSign(input, in: work, stream: false), to: .p256, in: work, stream: stream)
            let (opened, v) = try f.openStreaming(bundle, as: .p256, into: out.path)
            #expect(opened.isEmpty && v.contentLength == 0)
            #expect(try f.openWithBundleOpener(bundle, as: .p256, in: work).isEmpty)
            unlink(v.contentPath)
        }
    }

    @Test(arguments: [1, 2, 3, 7, 64, 4099])
    func everyReadSizeGivesTheSameContent(chunk: Int) throws {
        let work = f.scratch(), out = f.scratch()
        let content = StreamingFixture.content(30_011, seed: 11)
        let bundle = try f.seal(content, to: .p256, in: work)
        var config = StreamingBundleOpener.Configuration()
        config.readChunkSize = chunk
        config.writeBufferSize = 1000
        config.directWrites = chunk % 2 == 0
        #expect(try f.openStreaming(bundle, as: .p256, into: out.path, configuration: config).content == content)
    }

    /// BER allows an OCTET STRING's segments to nest, with definite and indefinite lengths and
    /// empty segments: the content is the same, and the signature still verifies.
    @Test func nestedConstructedContentSegmentsStream() throws {
        let work = f.scratch(), out = f.scratch()
        let content = StreamingFixture.content(70_000, seed: 5)
        let signed = try StreamingSurgery.read(try f.opensslSign(try StreamingSurgery.write(content, to: work.file("c.tar")), in: work))
        let S = StreamingSurgery.self
        let octets = S.children(signed, of: S.children(signed, of: S.locate(signed, [1, 0, 2]))[1])[0]
        let data = S.octets(signed, octets)
        #expect(data == content)
        let p = [Array(data[0..<10]), Array(data[10..<40_000]), Array(data[40_000..<40_001]), Array(data[40_001...])]
        let nested = S.ber(0x24, [S.der(0x04, p[0]), S.der(0x04, []),
                                  S.ber(0x24, [S.der(0x04, p[1]), S.der(0x24, S.der(0x04, p[2]))]),
                                  S.der(0x04, p[3])])
        let rewritten = S.replacing(signed, octets.range, with: nested)
        for chunk in [5, 4096] {
            let parsed = StreamingFuzzing.parseSignedContent(rewritten, readChunkSize: chunk)
            #expect(parsed.error == nil)
            #expect(parsed.contentSHA256 == SHA256Hasher.hex(Data(content)))
        }
        let bundle = try f.opensslEncrypt(try S.write(rewritten, to: work.file("nested.der")), to: .rsa, in: work)
        #expect(try f.openStreaming(bundle, as: .rsa, into: out.path).content == content)

        // Nesting beyond the depth cap is refused.
        var deep = S.der(0x04, Array(data))
        for _ in 0..<30 { deep = S.ber(0x24, [deep]) }
        let tooDeep = try f.opensslEncrypt(try S.write(S.replacing(signed, octets.range, with: deep), to: work.file("deep.der")), to: .rsa, in: work)
        try expectRefusal(tooDeep, as: .rsa, .malformed, ["nesting deeper than 16 levels"])
    }

    // MARK: - Alterations

    @Test(arguments: [Recipient.rsa, .p256])
    func bitFlipsAnywhereAreRejectedAndLeaveNothing(recipient: Recipient) throws {
        let work = f.scratch(), out = f.scratch()
        let bundle = try f.seal(StreamingFixture.content(6_000, seed: 9), to: recipient, in: work)
        let bytes = try StreamingSurgery.read(bundle)
        let S = StreamingSurgery.self
        let recipients = S.locate(bytes, [1, 0, 1]).range
        let nonce = S.children(bytes, of: S.children(bytes, of: S.locate(bytes, [1, 0, 2, 1]))[1])[0]
        let segments = S.children(bytes, of: S.locate(bytes, [1, 0, 2, 2]))
        let mac = S.locate(bytes, [1, 0, 3])
        // The encrypted key is the last OCTET STRING of the recipient info (RSA) or of its
        // RecipientEncryptedKey (ECDH): its content ends where the recipientInfos do.
        let keyEnd = recipients.upperBound
        let keyLength = recipient.name == "rsa-recipient" ? 256 : 40

        let n = bytes.count
        var offsets = Set(0..<min(900, n))
        offsets.formUnion(stride(from: 900, to: n, by: 41))
        offsets.formUnion(max(0, n - 64)..<n)
        var buffered = StreamingBundleOpener.Configuration()
        buffered.directWrites = false   // a thousand small synchronous writes would only slow the test down
        let opener = StreamingBundleOpener(recipient: f.certificate(recipient), key: f.key(recipient), trust: [f.ca],
                                           configuration: buffered)
        var codes: [EnvelopeError.Code: Int] = [:]
        for o in offsets.sorted() {
            var flipped = bytes
            flipped[o] ^= 1 << UInt8(o % 8)
            let path = try S.write(flipped, to: work.file("flipped.p7m"))
            do {
                _ = try opener.open(bundlePath: path, into: out.path, at: f.now)
                Issue.record("a flip at byte \(o) of \(n) was accepted")
            } catch let e as EnvelopeError {
                codes[e.code, default: 0] += 1
                let authenticated = (keyEnd - keyLength..<keyEnd).contains(o)
                    || ((nonce.contentStart..<nonce.end).contains(o))
                    || ((mac.contentStart..<mac.end).contains(o))
                    || segments.contains { ($0.contentStart..<$0.end).contains(o) }
                if authenticated {
                    #expect(e.code == .decryptFailed, "byte \(o): \(e.message)")
                }
            }
            #expect(out.listing().isEmpty, "byte \(o) left \(out.listing())")
        }
        #expect(codes[.decryptFailed, default: 0] > 100)
        #expect(codes[.malformed, default: 0] > 10)
    }

    @Test func truncationAtAnyLengthIsRejected() throws {
        let work = f.scratch(), out = f.scratch()
        let bytes = try StreamingSurgery.read(try f.seal(StreamingFixture.content(9_000, seed: 4), to: .p256, in: work))
        let n = bytes.count
        var lengths = Set(0..<400)
        lengths.formUnion(stride(from: 400, to: n, by: 97))
        lengths.formUnion((n - 48)..<n)
        let opener = StreamingBundleOpener(recipient: f.p256Recipient, key: f.p256RecipientKey, trust: [f.ca])
        for length in lengths.sorted() {
            let path = try StreamingSurgery.write(Array(bytes[..<length]), to: work.file("cut.p7m"))
            let e = #expect(throws: EnvelopeError.self) { _ = try opener.open(bundlePath: path, into: out.path, at: f.now) }
            #expect(e?.code == .malformed, "length \(length): \(e?.message ?? "")")
            #expect(e?.message.contains("truncated") == true, "length \(length): \(e?.message ?? "")")
            #expect(out.listing().isEmpty)
        }
    }

    @Test(arguments: ["signature", "message digest", "signing time", "content", "signer serial"])
    func alteredSignedLayerIsRejected(part: String) throws {
        let work = f.scratch()
        let content = StreamingFixture.content(50_000, seed: 21)
        let sealed = try f.seal(content, to: .rsa, in: work)
        var signed = try StreamingSurgery.read(try f.opensslDecrypt(sealed, as: .rsa, in: work))
        let S = StreamingSurgery.self
        let signerInfo = S.children(signed, of: S.locate(signed, [1, 0, 4, 0]))
        let attributes = S.children(signed, of: signerInfo[3])
        func attribute(_ oidTail: UInt8) -> StreamingSurgery.Element {
            let a = attributes.first { signed[S.children(signed, of: $0)[0].end - 1] == oidTail }!
            return S.children(signed, of: S.children(signed, of: a)[1])[0]
        }
        switch part {
        case "signature": signed[signerInfo[5].end - 9] ^= 0x10
        case "message digest": signed[attribute(0x04).contentStart + 5] ^= 0x01
        case "signing time":
            let t = attribute(0x05)
            signed[t.contentStart + 11] = signed[t.contentStart + 11] == 0x30 ? 0x31 : 0x30
        case "content":
            let os = S.children(signed, of: S.children(signed, of: S.locate(signed, [1, 0, 2]))[1])[0]
            signed[S.children(signed, of: os)[0].contentStart + 100] ^= 0x80
        default: signed[S.children(signed, of: signerInfo[1])[1].end - 1] ^= 0x01
        }
        let bundle = try f.opensslEncrypt(try S.write(signed, to: work.file("altered.der")), to: .rsa, in: work)
        let message = part == "signer serial" ? "signer certificate is missing"
                    : part == "content" ? "does not match its message digest" : "signature does not verify"
        try expectRefusal(bundle, as: .rsa, .signatureInvalid, [message])
        #expect(throws: EnvelopeError.self) { _ = try f.openWithBundleOpener(bundle, as: .rsa, in: work) }
    }

    // MARK: - The strict profile

    @Test func unauthenticatedEncryptionIsRefusedBeforeAnyCrypto() throws {
        let work = f.scratch()
        let signed = try f.opensslSign(try StreamingSurgery.write(StreamingFixture.content(5_000), to: work.file("c.tar")), in: work)
        // A key that does not match the certificate proves the refusal comes before any key use.
        let wrongKey = f.p384RecipientKey
        try expectRefusal(try f.opensslEncrypt(signed, to: .rsa, in: work, cipher: "-aes-256-cbc"), as: .rsa, .disallowed,
                          ["EnvelopedData with aes-256-cbc", "without an integrity tag"], key: wrongKey)
        try expectRefusal(try f.opensslEncrypt(signed, to: .rsa, in: work, cipher: "-aes-128-gcm"), as: .rsa, .disallowed,
                          ["aes-128-gcm content encryption"], key: wrongKey)
        try expectRefusal(signed, as: .rsa, .disallowed, ["an unencrypted SignedData"], key: wrongKey)
    }

    @Test func disallowedKeyTransportAndAgreementAreRefusedBeforeAnyCrypto() throws {
        let work = f.scratch()
        let signed = try f.opensslSign(try StreamingSurgery.write(StreamingFixture.content(5_000), to: work.file("c.tar")), in: work)
        let wrongKey = f.p384RecipientKey
        try expectRefusal(try f.opensslEncrypt(signed, to: .rsa, in: work, keyOptions: []), as: .rsa, .disallowed,
                          ["RSA PKCS#1 v1.5 key transport"], key: wrongKey)
        try expectRefusal(try f.opensslEncrypt(signed, to: .rsa, in: work, keyOptions: ["-keyopt", "rsa_padding_mode:oaep"]), as: .rsa,
                          .disallowed, ["RSA-OAEP with SHA-1"], key: wrongKey)
        try expectRefusal(try f.opensslEncrypt(signed, to: .p256, in: work, keyOptions: []), as: .p256, .disallowed,
                          ["SHA-1 KDF"], key: wrongKey)

        // A pre-shared key (KEK) recipient.
        let kek = work.file("kek.p7m")
        try f.run(["openssl", "cms", "-encrypt", "-binary", "-aes-256-gcm", "-secretkey", String(repeating: "0f", count: 32),
                   "-secretkeyid", "0a0b", "-in", signed, "-outform", "DER", "-out", kek])
        try expectRefusal(kek, as: .rsa, .disallowed, ["a KEK recipient"], key: wrongKey)

        // A password recipient (OpenSSL writes those only with CBC: move one into a GCM bundle).
        let pwri = work.file("pwri.p7m")
        try f.run(["openssl", "cms", "-encrypt", "-binary", "-aes-256-cbc", "-pwri_password", "not-a-key", "-in", signed,
                   "-outform", "DER", "-out", pwri])
        let S = StreamingSurgery.self
        let pw = try S.read(pwri), gcm = try S.read(try f.seal(StreamingFixture.content(100), to: .rsa, in: work))
        let spliced = S.replacing(gcm, S.locate(gcm, [1, 0, 1]).range, with: Array(pw[S.locate(pw, [1, 0, 1]).range]))
        try expectRefusal(try S.write(spliced, to: work.file("pwri-gcm.p7m")), as: .rsa, .disallowed, ["a password recipient"], key: wrongKey)
    }

    @Test(arguments: [0, 8, 16, 65_536])
    func aNonceOtherThan12BytesIsRefusedBeforeAnyCrypto(nonceLength: Int) throws {
        let work = f.scratch()
        let S = StreamingSurgery.self
        let bytes = try S.read(try f.seal(StreamingFixture.content(3_000), to: .p256, in: work))
        let algorithm = S.locate(bytes, [1, 0, 2, 1])
        let params = S.der(0x30, S.der(0x04, [UInt8](repeating: 0xA5, count: nonceLength)) + [0x02, 0x01, 0x10])
        let forged = S.replacing(bytes, algorithm.range, with: S.der(0x30, S.aes256GCM + params))
        try expectRefusal(try S.write(forged, to: work.file("nonce.p7m")), as: .p256, .disallowed,
                          ["a \(nonceLength)-byte AES-GCM nonce"], key: f.p384RecipientKey)

        // The default ICV length (12) is refused too.
        let short = S.replacing(bytes, algorithm.range, with: S.der(0x30, S.aes256GCM + S.der(0x30, S.der(0x04, Array(repeating: 1, count: 12)))))
        try expectRefusal(try S.write(short, to: work.file("icv.p7m")), as: .p256, .disallowed, ["a 12-byte GCM tag"], key: f.p384RecipientKey)
    }

    @Test func sha1DigestsAndExtraSignersAreRefused() throws {
        let work = f.scratch()
        let input = try StreamingSurgery.write(StreamingFixture.content(5_000), to: work.file("c.tar"))
        let sha1 = try f.opensslEncrypt(try f.opensslSign(input, in: work, md: "sha1"), to: .rsa, in: work)
        try expectRefusal(sha1, as: .rsa, .disallowed, ["the SHA-1 digest algorithm"])
        let two = try f.opensslSign(input, in: work, extra: ["-signer", f.pem("rsa-signer"), "-inkey", f.keyPath("rsa-signer")])
        try expectRefusal(try f.opensslEncrypt(two, to: .p256, in: work), as: .p256, .disallowed, ["2 signers", "exactly one signer"])
    }

    @Test func trailingDataIsRefused() throws {
        let work = f.scratch()
        let S = StreamingSurgery.self
        let bundle = try f.seal(StreamingFixture.content(4_000), to: .rsa, in: work)
        for tail: [UInt8] in [[0], [0, 0], [0x30, 0x00], Array("junk".utf8)] {
            let path = try S.write(try S.read(bundle) + tail, to: work.file("trailing.p7m"))
            try expectRefusal(path, as: .rsa, .malformed, ["trailing data after the end of the bundle"])
        }
        // Trailing bytes after the SignedData, inside the encryption.
        let signed = try S.read(try f.opensslDecrypt(bundle, as: .rsa, in: work))
        let inner = try f.opensslEncrypt(try S.write(signed + [0, 0, 0], to: work.file("inner.der")), to: .rsa, in: work)
        try expectRefusal(inner, as: .rsa, .malformed, ["trailing data after the end of the SignedData"])
    }

    // MARK: - Signer, recipient and caps

    @Test func signerRulesMatchBundleOpener() throws {
        let work = f.scratch()
        let input = try StreamingSurgery.write(StreamingFixture.content(5_000), to: work.file("c.tar"))
        let byTLS = try f.opensslEncrypt(try f.opensslSign(input, in: work, signer: "tls"), to: .p256, in: work)
        try expectRefusal(byTLS, as: .p256, .untrusted, ["not meant for signing"])
        let e = #expect(throws: EnvelopeError.self) { _ = try f.openWithBundleOpener(byTLS, as: .p256, in: work) }
        #expect(e?.message.contains("not meant for signing") == true)

        let byStranger = try f.seal(StreamingFixture.content(5_000), to: .p256, in: work, name: "stranger.p7m",
                                    signer: f.stranger, signerKey: f.strangerKey)
        try expectRefusal(byStranger, as: .p256, .untrusted, ["does not chain to the gateway certificate"])
        // Trusting the stranger's CA (and not ours) accepts it.
        let out = f.scratch()
        #expect(try f.openStreaming(byStranger, as: .p256, into: out.path, trust: [f.strangerCA]).verified.signer.subject.contains("stranger"))
    }

    @Test func aBundleForSomeoneElseIsRefused() throws {
        let work = f.scratch()
        let bundle = try f.seal(StreamingFixture.content(5_000), to: .rsa, in: work)
        try expectRefusal(bundle, as: .p256, .decryptFailed, ["not addressed to your certificate"])
        try expectRefusal(bundle, as: .rsa, .keyMismatch, ["does not belong to the certificate"], key: f.p384RecipientKey)
    }

    @Test func sizeCapsAreEnforced() throws {
        let work = f.scratch()
        let bundle = try f.seal(StreamingFixture.content(5_000), to: .rsa, in: work)
        var small = StreamingBundleOpener.Configuration()
        small.maxCertificateBytes = 200
        try expectRefusal(bundle, as: .rsa, .malformed, ["the certificates is", "over the 200-byte cap"], configuration: small)
        small = .init()
        small.maxRecipientInfoBytes = 100
        try expectRefusal(bundle, as: .rsa, .malformed, ["over the 100-byte cap"], configuration: small)
        small = .init()
        small.maxCertificates = 1
        try expectRefusal(bundle, as: .rsa, .malformed, ["2 certificates, over the cap of 1"], configuration: small)
    }

    // MARK: - Helpers

    /// Opens `bundle` expecting a refusal with `code` and every phrase of `phrases` in its
    /// message, and checks the output folder stays empty.
    @discardableResult
    func expectRefusal(_ bundle: String, as r: Recipient, _ code: EnvelopeError.Code, _ phrases: [String],
                       key: PrivateKey? = nil, configuration: StreamingBundleOpener.Configuration = .init(),
                       sourceLocation: SourceLocation = #_sourceLocation) throws -> EnvelopeError? {
        let out = f.scratch()
        let e = #expect(throws: EnvelopeError.self, sourceLocation: sourceLocation) {
            _ = try f.openStreaming(bundle, as: r, into: out.path, key: key, configuration: configuration)
        }
        #expect(e?.code == code, "\(e?.code.name ?? "no error"): \(e?.message ?? "")", sourceLocation: sourceLocation)
        for p in phrases {
            #expect(e?.message.contains(p) == true, "'\(p)' not in: \(e?.message ?? "")", sourceLocation: sourceLocation)
        }
        #expect(out.listing().isEmpty, sourceLocation: sourceLocation)
        return e
    }
}

extension StreamingOpenerTests {
    /// A SignerInfo of five fields (signed attributes, then no signature) is refused as malformed;
    /// it used to be read past its end (found in review; also in the fuzz corpus).
    @Test func aSignerInfoWithoutItsSignatureFieldIsMalformed() throws {
        let hex = "307706092a864886f70d010702a06a3068020101310d300b0609608648016503040201301106092a864886f70d010701a004040268693141303f02010130053000020101300b0609608648016503040201a01a301806092a864886f70d010903310b06092a864886f70d010701300a06082a8648ce3d040302"
        var bytes: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex { let j = hex.index(i, offsetBy: 2); bytes.append(UInt8(hex[i..<j], radix: 16)!); i = j }
        let outcome = StreamingFuzzing.parseSignedContent(bytes)
        #expect(outcome.error?.code == .malformed, "\(String(describing: outcome.error))")
    }
}
