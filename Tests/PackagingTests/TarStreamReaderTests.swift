import ClaimGateCore
import ClaimGateTesting
import Envelope
import Foundation
@_spi(Fuzzing) import Packaging
import Testing

/// The streaming tar reader: the same archives as libarchive's reader (BundleArchiveReader)
/// accepted, in pieces of any size; everything outside the profile refused with its reason.
@Suite struct TarStreamReaderTests {
    static let chunkSizes = [1, 7, 511, 512, 513, 4096, 1 << 20]

    /// Scans `bytes` in every chunk size; all must agree. Returns the outcome.
    func scan(_ bytes: [UInt8], maxPaxHeaderSize: Int = 64 << 10) -> ArchiveFuzzing.Outcome {
        let first = ArchiveFuzzing.scan(bytes, chunkSize: Self.chunkSizes[0], maxPaxHeaderSize: maxPaxHeaderSize)
        for size in Self.chunkSizes.dropFirst() {
            let o = ArchiveFuzzing.scan(bytes, chunkSize: size, maxPaxHeaderSize: maxPaxHeaderSize)
            #expect(o.error == first.error, "chunk size \(size)")
            #expect(o.documents.map(\.sha256) == first.documents.map(\.sha256), "chunk size \(size)")
        }
        return first
    }

    func refused(_ bytes: [UInt8], _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let o = scan(bytes)
        #expect(o.error != nil, "accepted", sourceLocation: sourceLocation)
        #expect(o.error?.message.contains(fragment) == true, "\(o.error?.message ?? "no error")", sourceLocation: sourceLocation)
    }

    // MARK: - Accepted archives

    @Test func theWritersArchivesReadAsLibarchiveReadsThem() throws {
        let dir = TemporaryDirectory()
        // 200 bytes: a pax path. (ASCII: libarchive's writer cannot convert UTF-8 names in the C
        // locale; non-ASCII names are covered with Python's tarfile and TarCraft below.)
        let name200 = String(repeating: "e", count: 196) + ".pdf"
        let docs: [(String, [UInt8])] = [
            ("a.pdf", Array("%PDF-a".utf8)), ("empty.pdf", []), ("big.bin", (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }),
            ("exact-512.bin", [UInt8](repeating: 9, count: 512)), (name200, Array("long".utf8)),
            (String(repeating: "n", count: 91) + ".pdf", Array("ustar prefix or pax".utf8)),
        ]
        var out = [UInt8]()
        let writer = try BundleArchiveWriter { out += $0 }
        for (name, data) in docs { try writer.addFile(path: "documents/" + name, data: Data(data), modified: Date()) }
        try writer.addFile(path: "manifest.json", data: Data("{\"m\":1}".utf8), modified: Date())
        try writer.finish()

        let o = scan(out)
        #expect(o.error == nil, "\(o.error?.message ?? "")")
        #expect(o.documents.map(\.name) == docs.map(\.0))
        #expect(o.documents.map(\.size) == docs.map { Int64($0.1.count) })
        #expect(o.documents.map(\.sha256) == docs.map { SHA256Hasher.hex($0.1) })
        #expect(o.manifest == Array("{\"m\":1}".utf8))

        // libarchive agrees.
        let path = try dir.write("w.tar", Data(out))
        #expect(try BundleArchiveReader(path: path).readManifest() == Data("{\"m\":1}".utf8))
    }

    @Test(arguments: [
        ("GNU tar, pax", "tar --format=pax -cf ../b.tar documents manifest.json"),
        ("GNU tar, ustar", "tar --format=ustar -cf ../b.tar documents manifest.json"),
        ("GNU tar, gnu", "tar -cf ../b.tar documents manifest.json"),
        ("Python tarfile, pax, long UTF-8 name", """
            python3 -c '
            import tarfile
            with tarfile.open("../b.tar", "w", format=tarfile.PAX_FORMAT) as t:
                t.add("documents"); t.add("manifest.json")
            '
            """),
    ])
    func stockToolsArchivesAreRead(_ c: (String, String)) throws {
        let dir = TemporaryDirectory()
        let long = String(repeating: "ü", count: 60) + ".pdf"
        try FileManager.default.createDirectory(atPath: dir.path + "/src/documents", withIntermediateDirectories: true)
        try dir.write("src/documents/a.pdf", "%PDF-1.4\n")
        try dir.write("src/documents/" + (c.0.contains("long") ? long : "b.pdf"), Data(count: 5_000))
        try dir.write("src/manifest.json", "{}")
        let r = try Shell.bash(c.1, directory: dir.path + "/src")
        try #require(r.succeeded, "\(r.stderr)")
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: dir.file("b.tar"))))
        let o = scan(bytes)
        #expect(o.error == nil, "\(c.0): \(o.error?.message ?? "")")
        #expect(Set(o.documents.map(\.name)) == ["a.pdf", c.0.contains("long") ? long : "b.pdf"], "\(c.0)")
        #expect(o.manifest == Array("{}".utf8))
        if !c.0.contains("UTF-8") {
            // libarchive agrees (in the C locale it refuses non-ASCII names: the Swift reader reads them).
            #expect(try BundleArchiveReader(path: dir.file("b.tar")).readManifest() == Data("{}".utf8))
        }
    }

    @Test func nonASCIINamesAreReadAsUTF8() {
        var t = TarCraft()
        t.pax([("path", "documents/Überweisung-€.pdf")])
        t.header("documents/x.pdf", size: 2)
        t.data([1, 2])
        t.file("manifest.json", Array("{}".utf8))
        t.end()
        let o = scan(t.bytes)
        #expect(o.error == nil)
        #expect(o.documents.map(\.name) == ["Überweisung-€.pdf"])
    }

    /// The fuzz target's tar seeds (Tests/Fuzz/corpus/tar-*) start it from accepted archives.
    @Test func theFuzzSeedsAreAccepted() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/corpus").path
        let seeds = try FileManager.default.contentsOfDirectory(atPath: corpus).filter { $0.hasPrefix("tar-") }
        #expect(seeds.count >= 3)
        for seed in seeds {
            let o = scan(Array(try Data(contentsOf: URL(fileURLWithPath: corpus + "/" + seed))))
            #expect(o.error == nil, "\(seed): \(o.error?.message ?? "")")
            #expect(!o.documents.isEmpty, "\(seed)")
        }
    }

    @Test func paxSizeAndPathOverrideTheHeader() {
        var t = TarCraft()
        t.pax([("path", "documents/from-pax.pdf"), ("size", "3"), ("mtime", "1700000000.5"), ("uname", "x")])
        t.header("ignored-name", size: 999)
        t.data(Array("abc".utf8))
        t.file("manifest.json", Array("{}".utf8))
        t.end()
        let o = scan(t.bytes)
        #expect(o.error == nil, "\(o.error?.message ?? "")")
        #expect(o.documents.map(\.name) == ["from-pax.pdf"])
        #expect(o.documents.map(\.size) == [3])
    }

    @Test func recordPaddingAfterTheEndIsAccepted() {
        var t = TarCraft.minimal()
        t.data([UInt8](repeating: 0, count: 8192))
        #expect(scan(t.bytes).error == nil)
    }

    // MARK: - Truncation and damage

    @Test func truncationAtAnyLengthIsRefused() {
        let full = TarCraft.minimal(document: (0..<1_300).map { UInt8(truncatingIfNeeded: $0) }).bytes
        for length in 0..<full.count {
            let o = ArchiveFuzzing.scan(Array(full.prefix(length)), chunkSize: 97)
            #expect(o.error != nil, "truncated to \(length) of \(full.count) bytes was accepted")
        }
        #expect(ArchiveFuzzing.scan(full).error == nil)
    }

    @Test func badChecksumsAreRefused() {
        var t = TarCraft()
        t.header("documents/a.pdf", size: 1, checksumDelta: 1)
        t.data([1])
        t.file("manifest.json", Array("{}".utf8))
        t.end()
        refused(t.bytes, "checksum does not match")

        // Any flipped header byte breaks the checksum (or the magic).
        let good = TarCraft.minimal().bytes
        for offset in [0, 100, 124, 130, 148, 156, 257, 263, 345, 511] {
            var bad = good
            bad[offset] ^= 0x01
            #expect(ArchiveFuzzing.scan(bad).error != nil, "flip at \(offset)")
        }
    }

    @Test func numbersMustBeOctal() {
        var t = TarCraft()
        t.header("documents/a.pdf", sizeField: Array("0000000001x\0".utf8))
        t.data([1])
        t.end()
        refused(t.bytes, "size is not an octal number")
        var empty = TarCraft()
        empty.header("documents/a.pdf", sizeField: [UInt8](repeating: 0, count: 12))
        empty.end()
        refused(empty.bytes, "size is not an octal number")
        var negative = TarCraft()
        negative.header("documents/a.pdf", sizeField: [0xFF] + [UInt8](repeating: 0xFF, count: 11))
        negative.end()
        refused(negative.bytes, "negative or oversized")
    }

    @Test func nonZeroPaddingAndTrailingDataAreRefused() {
        var padded = TarCraft()
        padded.header("documents/a.pdf", size: 3)
        padded.data(Array("abc".utf8), pad: 0x41)
        padded.file("manifest.json", Array("{}".utf8))
        padded.end()
        refused(padded.bytes, "padding after 'documents/a.pdf' is not zero")

        var trailing = TarCraft.minimal()
        trailing.bytes += Array("extra".utf8)
        refused(trailing.bytes, "data follows the end-of-archive blocks")

        var single = TarCraft()
        single.file("documents/a.pdf", [1])
        single.file("manifest.json", Array("{}".utf8))
        single.bytes += [UInt8](repeating: 0, count: 512)
        refused(single.bytes, "single zero block")

        var noEnd = TarCraft()
        noEnd.file("documents/a.pdf", [1])
        noEnd.file("manifest.json", Array("{}".utf8))
        refused(noEnd.bytes, "without the zero blocks")

        var afterOne = TarCraft()
        afterOne.file("manifest.json", Array("{}".utf8))
        afterOne.bytes += [UInt8](repeating: 0, count: 512)
        afterOne.file("documents/hidden.pdf", [1])
        afterOne.end()
        refused(afterOne.bytes, "single zero block is followed by data")
    }

    // MARK: - Pax headers

    @Test func oversizePaxHeadersAreRefusedUnread() {
        var t = TarCraft()
        t.header("PaxHeaders/x", type: "x", size: 1 << 30)   // 1 GiB of "records" that never come
        refused(t.bytes, "over the 65536-byte cap")
        let o = ArchiveFuzzing.scan(TarCraft.paxFile(records: [("comment", String(repeating: "x", count: 2_000))]),
                                    maxPaxHeaderSize: 1_024)
        #expect(o.error?.message.contains("over the 1024-byte cap") == true, "\(o.error?.message ?? "")")
    }

    @Test(arguments: [
        ("linkpath", "/etc/passwd", "pax record 'linkpath'"),
        ("GNU.sparse.map", "0,1", "pax record 'GNU.sparse.map'"),
        ("hdrcharset", "BINARY", "pax record 'hdrcharset'"),
        ("SCHILY.xattr.user.x", "1", "pax record 'SCHILY.xattr.user.x'"),
        ("size", "-1", "size that is not a decimal number"),
        ("size", "", "size that is not a decimal number"),
        ("path", "", "empty path"),
    ])
    func paxRecordsOutsideTheProfileAreRefused(_ c: (String, String, String)) {
        refused(TarCraft.paxFile(records: [(c.0, c.1)]), c.2)
    }

    @Test func malformedPaxRecordsAreRefused() {
        let good = TarCraft.record("path", Array("documents/a.pdf".utf8))
        var cases: [([UInt8], String)] = [
            (Array("99 path=documents/a.pdf\n".utf8), "length does not match"),
            (Array("024 path=documents/a.pdf\n".utf8), "without a valid length"),
            (Array("path=documents/a.pdf\n".utf8), "without a valid length"),
            (Array("22 path=documents/a.pdf ".utf8), "length does not match"),
            (Array("9 =abcde\n".utf8), "without a key"),
            (good + good, "sets 'path' twice"),
            (Array("12345678 x=y\n".utf8), "length over the cap"),
        ]
        cases.append((TarCraft.record("path", Array("documents/a\0.pdf".utf8)), "NUL"))
        for (raw, fragment) in cases {
            var t = TarCraft()
            t.paxRaw(raw)
            t.header("documents/a.pdf", size: 1)
            t.data([1])
            t.file("manifest.json", Array("{}".utf8))
            t.end()
            refused(t.bytes, fragment)
        }
    }

    @Test func paxHeadersMustPrecedeAMember() {
        var twice = TarCraft()
        twice.pax([("mtime", "1")])
        twice.pax([("mtime", "2")])
        twice.file("manifest.json", Array("{}".utf8))
        twice.end()
        refused(twice.bytes, "two pax extended headers in a row")

        var last = TarCraft()
        last.file("manifest.json", Array("{}".utf8))
        last.pax([("path", "documents/a.pdf")])
        last.end()
        refused(last.bytes, "followed by the end of the archive")
    }

    // MARK: - Member types and names

    @Test(arguments: [
        ("1", "a hard link"), ("2", "a symbolic link"), ("3", "a character device"), ("4", "a block device"),
        ("6", "a FIFO"), ("7", "a contiguous file"),
    ] as [(Character, String)])
    func linksAndSpecialFilesAreRefused(_ c: (Character, String)) {
        var t = TarCraft()
        t.header("documents/a.pdf", type: c.0, linkName: c.0 == "1" || c.0 == "2" ? "manifest.json" : "")
        t.file("manifest.json", Array("{}".utf8))
        t.end()
        let o = scan(t.bytes)
        #expect(o.error?.code == .layout)
        #expect(o.error?.message.contains(c.1) == true, "\(o.error?.message ?? "")")
        #expect(o.error?.message.contains("links and special files are refused") == true)
    }

    @Test(arguments: [
        ("g", "a global pax header"), ("L", "GNU long-name"), ("K", "GNU long-name"), ("S", "GNU sparse"), ("V", "type 'V'"),
    ] as [(Character, String)])
    func tarExtensionsAreRefused(_ c: (Character, String)) {
        var t = TarCraft()
        t.header("././@LongLink", type: c.0, size: 10)
        t.data(Array("documents/".utf8))
        t.file("manifest.json", Array("{}".utf8))
        t.end()
        refused(t.bytes, c.1)
    }

    @Test func aRegularFileWithALinkTargetIsRefused() {
        var t = TarCraft()
        t.header("documents/a.pdf", size: 0, linkName: "/etc/passwd")
        t.file("manifest.json", Array("{}".utf8))
        t.end()
        refused(t.bytes, "link target")
    }

    @Test func oldAndUnknownFormatsAreRefused() {
        var t = TarCraft()
        t.header("documents/a.pdf", size: 1, magic: .none)
        t.data([1])
        t.end()
        refused(t.bytes, "not POSIX ustar")

        var gnuIncremental = TarCraft()
        gnuIncremental.header("documents/a.pdf", size: 1, magic: .gnu)
        gnuIncremental.data([1])
        gnuIncremental.end()
        gnuIncremental.bytes[345] = 0x31   // an atime in the GNU-only area
        let sum = gnuIncremental.bytes[0..<512].enumerated().reduce(0) { $0 + (148..<156 ~= $1.offset ? 0x20 : Int($1.element)) }
        let field = Array(String(sum, radix: 8).leftPad(6).utf8) + [0, 0x20]
        for (i, b) in field.enumerated() { gnuIncremental.bytes[148 + i] = b }
        refused(gnuIncremental.bytes, "GNU tar header with incremental or sparse data")
    }

    @Test(arguments: [
        "documents/../../evil.pdf", "/etc/cron.d/evil", "documents/../manifest.json", "documents/sub/a.pdf",
        "./documents/a.pdf", "documents/.profile", "documents/", "other/a.pdf", "manifest.json/", "documents/a\\b.pdf",
        "documents/a\u{1}.pdf",
    ])
    func pathTricksAreRefused(_ name: String) {
        for viaPax in [false, true] {
            var t = TarCraft()
            if viaPax { t.pax([("path", name)]) }
            t.header(viaPax ? "documents/innocent.pdf" : name, size: 1)
            t.data([1])
            t.file("manifest.json", Array("{}".utf8))
            t.end()
            let o = scan(t.bytes)
            #expect(o.error?.code == .layout, "\(name) via pax: \(viaPax): \(o.error?.message ?? "accepted")")
        }
    }

    @Test func ustarPrefixTricksAreRefused() {
        var t = TarCraft()
        t.header("evil.pdf", size: 1, prefix: "documents/..")
        t.data([1])
        t.file("manifest.json", Array("{}".utf8))
        t.end()
        refused(t.bytes, "documents/../evil.pdf")
    }

    @Test func namesMustBeUTF8() {
        var t = TarCraft()
        let raw = TarCraft.record("path", Array("documents/".utf8) + [0xFF, 0xFE] + Array(".pdf".utf8))
        t.paxRaw(raw)
        t.header("documents/a.pdf", size: 1)
        t.data([1])
        t.end()
        refused(t.bytes, "not UTF-8")
    }

    @Test func duplicatesDirectoriesAndTheManifestFollowTheRules() {
        var dup = TarCraft()
        dup.file("documents/a.pdf", [1])
        dup.file("documents/a.pdf", [2])
        dup.file("manifest.json", Array("{}".utf8))
        dup.end()
        refused(dup.bytes, "twice")

        var dirs = TarCraft()
        dirs.header("documents", type: "5")
        dirs.header("documents/", type: "5")
        dirs.file("manifest.json", Array("{}".utf8))
        dirs.end()
        refused(dirs.bytes, "twice")

        var dirData = TarCraft()
        dirData.header("documents/", type: "5", size: 512)
        dirData.data([UInt8](repeating: 0, count: 512))
        dirData.end()
        refused(dirData.bytes, "directory entry with data")

        var otherDir = TarCraft()
        otherDir.header("etc/", type: "5")
        otherDir.end()
        refused(otherDir.bytes, "not a regular file")

        var big = TarCraft()
        big.header("manifest.json", size: (1 << 20) + 1)
        refused(big.bytes, "at most 1 MiB")

        var none = TarCraft()
        none.file("documents/a.pdf", [1])
        none.end()
        refused(none.bytes, "no manifest.json")

        var onlyDir = TarCraft()
        onlyDir.header("documents/", type: "5")
        onlyDir.file("manifest.json", Array("{}".utf8))
        onlyDir.end()
        #expect(scan(onlyDir.bytes).error == nil)
    }
}

extension TarCraft {
    /// An archive whose document is named by a pax header holding `records` (plus a valid path).
    static func paxFile(records: [(String, String)]) -> [UInt8] {
        var t = TarCraft()
        t.pax(records)
        t.header("documents/a.pdf", size: 1)
        t.data([1])
        t.file("manifest.json", Array("{}".utf8))
        t.end()
        return t.bytes
    }
}
