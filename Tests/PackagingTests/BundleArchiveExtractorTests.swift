import ClaimGateCore
import ClaimGateTesting
import Envelope
import Foundation
import Packaging
import Testing

/// The extractor as `StreamingBundleOpener` drives it: bytes in pieces, `finish`, then the
/// manifest and `release`. Unverified files only under meaningless names in a private folder;
/// every refusal and every discard leaves nothing.
@Suite struct BundleArchiveExtractorTests {
    struct Archive {
        let bytes: [UInt8]
        let documents: [BundleManifest.Document]
    }

    func archive(_ documents: [(String, [UInt8])], manifest: String = "{}") throws -> Archive {
        var out = [UInt8]()
        let writer = try BundleArchiveWriter { out += $0 }
        for (name, data) in documents { try writer.addFile(path: "documents/" + name, data: Data(data), modified: Date()) }
        try writer.addFile(path: "manifest.json", data: Data(manifest.utf8), modified: Date())
        try writer.finish()
        return Archive(bytes: out, documents: documents.map {
            .init(name: $0.0, mediaType: "application/octet-stream", size: Int64($0.1.count), sha256: SHA256Hasher.hex($0.1))
        })
    }

    /// Feeds `bytes` in pieces of `chunk`; returns the first error `append` threw, if any.
    func feed(_ extractor: BundleArchiveExtractor, _ bytes: [UInt8], chunk: Int) -> (any Error)? {
        bytes.withUnsafeBytes { all in
            var offset = 0
            while offset < all.count {
                let n = min(chunk, all.count - offset)
                do { try extractor.append(UnsafeRawBufferPointer(rebasing: all[offset..<(offset + n)])) } catch { return error }
                offset += n
            }
            return nil
        }
    }

    static func content(_ n: Int, _ seed: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761 &+ seed) >> 7) } }

    @Test(arguments: [(true, 1 << 20), (false, 65_537), (true, 4_099)])
    func documentsAreExtractedWhileStreamingAndReleasedByName(direct: Bool, chunk: Int) throws {
        let staging = TemporaryDirectory()
        let docs = [("big.bin", Self.content(3_000_001, 1)), ("empty.pdf", []), ("aligned.bin", Self.content(1 << 20, 2)),
                    ("small.pdf", Array("%PDF-1.4\n".utf8))]
        let a = try archive(docs, manifest: "{\"x\":1}")
        var c = BundleArchiveExtractor.Configuration()
        c.directWrites = direct
        c.pipeSlotSize = 256 << 10
        let extractor = try BundleArchiveExtractor(staging: staging.path, configuration: c)
        #expect(feed(extractor, a.bytes, chunk: chunk) == nil)
        try extractor.finish()

        // Before release: only numbered files in the private folder, never the archive's names.
        let folder = (extractor.folder as NSString).lastPathComponent
        #expect(folder.hasPrefix(".unverified-"))
        #expect(staging.listing() == [folder] + ["0", "1", "2", "3"].map { folder + "/" + $0 })
        let mode = try FileManager.default.attributesOfItem(atPath: extractor.folder)[.posixPermissions] as? Int
        #expect(mode == 0o700)

        #expect(try extractor.manifest() == Data("{\"x\":1}".utf8))
        try FileManager.default.createDirectory(atPath: staging.file("documents"), withIntermediateDirectories: false)
        try extractor.release(into: staging.file("documents"), expecting: a.documents)
        #expect(staging.listing() == ["documents"] + docs.map { "documents/" + $0.0 }.sorted())
        for (name, data) in docs {
            #expect(FileManager.default.contents(atPath: staging.file("documents/" + name)) == Data(data), "\(name)")
            let m = try FileManager.default.attributesOfItem(atPath: staging.file("documents/" + name))[.posixPermissions] as? Int
            #expect(m == 0o600)
        }
    }

    @Test func releaseChecksEveryDocumentAgainstTheManifestAndMovesNothingOnAMismatch() throws {
        let a = try archive([("a.pdf", Array("%PDF-a".utf8)), ("b.pdf", Array("%PDF-b".utf8))])
        var wrongDigest = a.documents
        wrongDigest[1].sha256 = String(repeating: "0", count: 64)
        var wrongSize = a.documents
        wrongSize[0].size += 1
        let ghost = BundleManifest.Document(name: "ghost.pdf", mediaType: "application/pdf", size: 1, sha256: "00")
        let cases: [([BundleManifest.Document], String)] = [
            (wrongDigest, "Document 'b.pdf' does not match its manifest entry"),
            (wrongSize, "Document 'a.pdf' does not match its manifest entry"),
            (a.documents + [ghost], "Document 'ghost.pdf' is listed in the manifest but missing"),
            (Array(a.documents.prefix(1)), "holds 'b.pdf', which its manifest does not list"),
            (a.documents + [a.documents[0]], "lists 'a.pdf' twice"),
        ]
        for (expected, message) in cases {
            let staging = TemporaryDirectory()
            let extractor = try BundleArchiveExtractor(staging: staging.path)
            #expect(feed(extractor, a.bytes, chunk: 1000) == nil)
            try extractor.finish()
            try FileManager.default.createDirectory(atPath: staging.file("documents"), withIntermediateDirectories: false)
            let e = #expect(throws: PackagingError.self) { try extractor.release(into: staging.file("documents"), expecting: expected) }
            #expect(e?.code == .document)
            #expect(e?.message.contains(message) == true, "\(e?.message ?? "")")
            #expect(staging.listing("documents").isEmpty)
            extractor.discard()
            #expect(staging.listing() == ["documents"])
        }
    }

    @Test func moreDocumentsThanABundleMayHoldAreRefusedWhileStreaming() throws {
        // Each document costs a file and an fsync before the signature is checked: capped.
        var t = TarCraft()
        for i in 0...BundleManifest.maxDocuments { t.file("documents/d\(i)", []) }
        t.file("manifest.json", Array("{}".utf8))
        t.end()
        let staging = TemporaryDirectory()
        let extractor = try BundleArchiveExtractor(staging: staging.path)
        let appendError = feed(extractor, t.bytes, chunk: 1 << 20)
        let finishError: (any Error)? = appendError == nil ? { do { try extractor.finish(); return nil } catch { return error } }() : nil
        let e = (appendError ?? finishError) as? PackagingError
        #expect(e?.message.contains("more than \(BundleManifest.maxDocuments) documents") == true, "\(e?.message ?? "")")
        extractor.discard()
        #expect(staging.listing().isEmpty)
    }

    @Test func namesMatchTheManifestByteForByteNotByUnicodeEquivalence() throws {
        // "é" composed in the archive, decomposed in the manifest: not the same name.
        let body = Self.content(10, 1)
        var t = TarCraft()
        t.file("documents/caf\u{00E9}.pdf", body)
        t.file("manifest.json", Array("{}".utf8))
        t.end()
        let staging = TemporaryDirectory()
        let extractor = try BundleArchiveExtractor(staging: staging.path)
        #expect(feed(extractor, t.bytes, chunk: 4096) == nil)
        try extractor.finish()
        let decomposed = BundleManifest.Document(name: "cafe\u{0301}.pdf", mediaType: "application/pdf", size: Int64(body.count),
                                                 sha256: SHA256Hasher.hex(body))
        try FileManager.default.createDirectory(atPath: staging.file("documents"), withIntermediateDirectories: true)
        #expect(throws: PackagingError.self) { try extractor.release(into: staging.file("documents"), expecting: [decomposed]) }
        #expect((try? FileManager.default.contentsOfDirectory(atPath: staging.file("documents"))) == [])
        extractor.discard()
    }

    @Test func anArchiveErrorStopsExtractionAndDiscardLeavesNothing() throws {
        // A valid first document, then a symbolic link: refused mid-stream.
        var t = TarCraft()
        t.file("documents/a.pdf", Self.content(2_000_000, 3))
        t.header("documents/link.pdf", type: "2", linkName: "/etc/passwd")
        t.file("manifest.json", Array("{}".utf8))
        t.end()
        let staging = TemporaryDirectory()
        let extractor = try BundleArchiveExtractor(staging: staging.path)
        let appendError = feed(extractor, t.bytes, chunk: 64 << 10)
        let finishError: (any Error)? = appendError == nil ? { do { try extractor.finish(); return nil } catch { return error } }() : nil
        let e = (appendError ?? finishError) as? PackagingError
        #expect(e?.code == .layout)
        #expect(e?.message.contains("links and special files are refused") == true, "\(e?.message ?? "")")
        #expect(throws: PackagingError.self) { try extractor.manifest() }
        extractor.discard()
        #expect(staging.listing().isEmpty)
    }

    @Test func anExtractorDroppedMidStreamStopsItsThreadAndLeavesNothing() throws {
        let staging = TemporaryDirectory()
        let a = try archive([("a.bin", Self.content(5_000_000, 4))])
        do {
            let extractor = try BundleArchiveExtractor(staging: staging.path)
            #expect(feed(extractor, Array(a.bytes.prefix(3_000_000)), chunk: 100_000) == nil)
        }
        #expect(staging.listing().isEmpty)
    }

    @Test func aTruncatedArchiveIsRefusedAtFinish() throws {
        let staging = TemporaryDirectory()
        let a = try archive([("a.bin", Self.content(10_000, 5))])
        let extractor = try BundleArchiveExtractor(staging: staging.path)
        #expect(feed(extractor, Array(a.bytes.dropLast(1024)), chunk: 4096) == nil)
        let e = #expect(throws: PackagingError.self) { try extractor.finish() }
        #expect(e?.message.contains("truncated") == true, "\(e?.message ?? "")")
        extractor.discard()
        #expect(staging.listing().isEmpty)
    }
}

@Suite struct BundleArchiveWriterLocaleTests {
    @Test func aNonASCIINameInAnASCIILocaleIsAClearErrorNotACrash() throws {
        // The test process runs in the "C" locale unless told otherwise.
        let codeset = String(cString: nl_langinfo(nl_item(CODESET)))
        let writer = try BundleArchiveWriter { _ in }
        if codeset == "UTF-8" {
            try writer.addFile(path: "documents/caf\u{00E9}.pdf", data: Data("x".utf8), modified: Date())
        } else {
            #expect(throws: PackagingError.self) {
                try writer.addFile(path: "documents/caf\u{00E9}.pdf", data: Data("x".utf8), modified: Date())
            }
        }
    }
}
