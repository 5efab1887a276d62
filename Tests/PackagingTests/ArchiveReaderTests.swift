import ClaimGateCore
import ClaimGateTesting
import Envelope
import Foundation
import Packaging
import Testing

@Suite struct ArchiveReaderTests {
    /// Builds a tar with the stock `tar` command from a shell script run in a scratch folder.
    func tar(_ dir: TemporaryDirectory, _ script: String) throws -> String {
        try FileManager.default.createDirectory(atPath: dir.path + "/src", withIntermediateDirectories: true)
        let r = try Shell.bash(script + " && tar --format=pax -cf ../bundle.tar $(ls -A)", directory: dir.path + "/src")
        try #require(r.succeeded, "\(r.stderr)")
        return dir.path + "/bundle.tar"
    }

    func written(documents: [(String, Data)]) throws -> (String, [BundleManifest.Document], TemporaryDirectory) {
        let dir = TemporaryDirectory()
        let out = FileHandle(forWritingAtPath: try dir.write("bundle.tar", Data()))!
        let writer = try BundleArchiveWriter { out.write(Data($0)) }
        var entries: [BundleManifest.Document] = []
        for (name, data) in documents {
            try writer.addFile(path: "documents/" + name, data: data, modified: Date())
            entries.append(.init(name: name, mediaType: "application/pdf", size: Int64(data.count), sha256: SHA256Hasher.hex(data)))
        }
        try writer.addFile(path: "manifest.json", data: Data("{}".utf8), modified: Date())
        try writer.finish()
        try out.close()
        return (dir.file("bundle.tar"), entries, dir)
    }

    @Test func writerOutputIsAStandardTarWithTheManifestLast() throws {
        let (path, entries, dir) = try written(documents: [("a.pdf", Data("%PDF-a".utf8)), ("b.pdf", Data(count: 70_000))])
        let listing = try Shell.run(["tar", "-tf", path])
        #expect(listing.stdout == "documents/a.pdf\ndocuments/b.pdf\nmanifest.json\n")
        let reader = BundleArchiveReader(path: path)
        #expect(try reader.readManifest() == Data("{}".utf8))
        try FileManager.default.createDirectory(atPath: dir.path + "/x", withIntermediateDirectories: true)
        try reader.extractDocuments(into: dir.path + "/x", expecting: entries)
        #expect(FileManager.default.contents(atPath: dir.path + "/x/b.pdf") == Data(count: 70_000))
    }

    @Test func extractionChecksEveryDigestAndEveryName() throws {
        let (path, entries, dir) = try written(documents: [("a.pdf", Data("%PDF-a".utf8))])
        var wrong = entries
        wrong[0].sha256 = String(repeating: "0", count: 64)
        try FileManager.default.createDirectory(atPath: dir.path + "/x", withIntermediateDirectories: true)
        #expect(throws: PackagingError.self) { try BundleArchiveReader(path: path).extractDocuments(into: dir.path + "/x", expecting: wrong) }
        try FileManager.default.createDirectory(atPath: dir.path + "/y", withIntermediateDirectories: true)
        let missing = entries + [.init(name: "ghost.pdf", mediaType: "application/pdf", size: 1, sha256: "00")]
        #expect(throws: PackagingError.self) { try BundleArchiveReader(path: path).extractDocuments(into: dir.path + "/y", expecting: missing) }
        try FileManager.default.createDirectory(atPath: dir.path + "/z", withIntermediateDirectories: true)
        #expect(throws: PackagingError.self) { try BundleArchiveReader(path: path).extractDocuments(into: dir.path + "/z", expecting: []) }
    }

    @Test(arguments: [
        ("symlink", "mkdir documents && ln -s /etc/passwd documents/link.pdf && echo '{}' > manifest.json"),
        ("hardlink", "mkdir documents && echo x > documents/a.pdf && ln documents/a.pdf documents/b.pdf && echo '{}' > manifest.json"),
        ("outside", "mkdir documents other && echo x > other/a.pdf && echo '{}' > manifest.json"),
        ("hidden", "mkdir documents && echo x > documents/.profile && echo '{}' > manifest.json"),
        ("fifo", "mkdir documents && mkfifo documents/pipe && echo '{}' > manifest.json"),
        ("nomanifest", "mkdir documents && echo x > documents/a.pdf"),
        ("subdir", "mkdir -p documents/sub && echo x > documents/sub/a.pdf && echo '{}' > manifest.json"),
    ])
    func strictLayoutRefusesAnythingElse(_ c: (String, String)) throws {
        let dir = TemporaryDirectory()
        let path = try tar(dir, c.1)
        #expect(throws: PackagingError.self, "\(c.0)") { try BundleArchiveReader(path: path).readManifest() }
    }

    @Test(arguments: ["documents/../../evil.pdf", "/etc/cron.d/evil", "documents/../manifest.json"])
    func escapingNamesAreRefused(_ name: String) throws {
        // Python's tarfile writes the name as given (GNU tar would strip it).
        let dir = TemporaryDirectory()
        let r = try Shell.run(["python3", "-c", """
            import io, sys, tarfile
            with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
                for name, data in ((sys.argv[2], b"x"), ("manifest.json", b"{}")):
                    info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
            """, dir.file("bundle.tar"), name])
        try #require(r.succeeded, "\(r.stderr)")
        #expect(throws: PackagingError.self) { try BundleArchiveReader(path: dir.file("bundle.tar")).readManifest() }
    }
}
