import ClaimGateTesting
import Envelope
import Foundation
import Testing

/// `open(bundlePath:at:into:)`: the content goes to a sink as it is decrypted; the sink's errors
/// wait for the envelope's verdict, and an envelope error (a bad tag) always wins.
@Suite struct StreamingSinkTests {
    typealias Recipient = StreamingFixture.Recipient
    let f = StreamingFixture.shared

    final class RecordingSink: StreamingContentSink {
        var bytes: [UInt8] = []
        var appends = 0
        var finishes = 0
        /// Throw from the append with this number (1-based), or from `finish` when 0.
        var failAt: Int?

        struct Refusal: Error {}

        func append(_ piece: UnsafeRawBufferPointer) throws {
            #expect(finishes == 0, "append after finish")
            appends += 1
            if failAt == appends { throw Refusal() }
            bytes += piece
        }

        func finish() throws {
            finishes += 1
            if failAt == 0 { throw Refusal() }
        }
    }

    func opener(_ r: Recipient) -> StreamingBundleOpener {
        StreamingBundleOpener(recipient: f.certificate(r), key: f.key(r), trust: [f.ca])
    }

    @Test func theSinkGetsTheContentInOrderThenOneFinish() throws {
        let work = f.scratch()
        let content = StreamingFixture.content(1_500_000, seed: 21)
        let bundle = try f.seal(content, to: .p256, in: work)
        let sink = RecordingSink()
        let v = try opener(.p256).open(bundlePath: bundle, at: f.now, into: sink)
        #expect(sink.bytes == content)
        #expect(sink.finishes == 1)
        #expect(v.contentError == nil)
        #expect(v.contentLength == Int64(content.count))
        #expect(v.contentSHA256 == SHA256Hasher.hex(Data(content)))
        #expect(v.signer.sha256Fingerprint == f.signer.sha256Fingerprint)
    }

    @Test(arguments: [1, 3, 0])
    func aSinkErrorIsReturnedAfterTheEnvelopeVerified(failAt: Int) throws {
        let work = f.scratch()
        let content = StreamingFixture.content(1_500_000, seed: 22)
        let bundle = try f.seal(content, to: .rsa, in: work)
        let sink = RecordingSink()
        sink.failAt = failAt
        let v = try opener(.rsa).open(bundlePath: bundle, at: f.now, into: sink)
        #expect(v.contentError is RecordingSink.Refusal)
        // No more bytes and no finish after a failed append; the content was still hashed whole.
        #expect(sink.appends == (failAt == 0 ? sink.appends : failAt))
        #expect(sink.finishes == (failAt == 0 ? 1 : 0))
        #expect(v.contentLength == Int64(content.count))
        #expect(v.contentSHA256 == SHA256Hasher.hex(Data(content)))
    }

    @Test func aBadTagWinsOverTheSinksError() throws {
        let work = f.scratch()
        var sealed = try StreamingSurgery.read(try f.seal(StreamingFixture.content(300_000, seed: 23), to: .p256, in: work))
        sealed[sealed.count / 2] ^= 0x01   // inside the ciphertext
        let bundle = try StreamingSurgery.write(sealed, to: work.file("flipped.p7m"))
        let sink = RecordingSink()
        sink.failAt = 1
        let e = #expect(throws: EnvelopeError.self) { try opener(.p256).open(bundlePath: bundle, at: f.now, into: sink) }
        #expect(e?.code == .decryptFailed)
        #expect(sink.finishes == 0)
    }

    @Test func aSignerFailureWinsOverTheSinksError() throws {
        let work = f.scratch()
        let bundle = try f.seal(StreamingFixture.content(10_000, seed: 24), to: .p256, in: work)
        let sink = RecordingSink()
        sink.failAt = 1
        let stranger = StreamingBundleOpener(recipient: f.certificate(.p256), key: f.key(.p256), trust: [f.strangerCA])
        let e = #expect(throws: EnvelopeError.self) { try stranger.open(bundlePath: bundle, at: f.now, into: sink) }
        #expect(e?.code == .untrusted)
    }
}
