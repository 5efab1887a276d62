import ClaimGateTesting
@testable import Console
import Foundation
import Testing

/// The tar headers the inbox export writes, read back by stock GNU `tar`: short ASCII names in
/// the ustar header alone, long and non-ASCII names through a pax `path` record, sizes on block
/// boundaries and off them, an empty file.
@Suite struct TarEntryHeaderTests {
    @Test func stockTarReadsBackEveryNameAndByte() async throws {
        let dir = TemporaryDirectory("claimgate-tar")
        let files: [(String, Data)] = [
            ("r/report.pdf", Data("%PDF-1.4\n".utf8)),
            ("r/" + String(repeating: "a", count: 98), Data(repeating: 7, count: 512)),           // exactly 100 bytes: ustar alone
            ("r/" + String(repeating: "long-name-", count: 12) + ".pdf", Data(repeating: 1, count: 513)),
            ("r/理赔报告 第1页.pdf", Data(repeating: 2, count: 1_000)),
            ("r/empty.txt", Data()),
        ]
        var archive = Data()
        for (path, data) in files {
            let header = TarEntryHeader(path: path, size: Int64(data.count), modified: Date(timeIntervalSince1970: 1_765_000_000))
            let bytes = header.bytes
            #expect(bytes.count % TarEntryHeader.block == 0)
            #expect((bytes.count > TarEntryHeader.block) == (path.utf8.count > 100 || !path.allSatisfy(\.isASCII)), "\(path)")
            archive += bytes + data + Data(count: TarEntryHeader.padding(for: Int64(data.count)))
            #expect(Int64(bytes.count) + Int64(data.count) + Int64(TarEntryHeader.padding(for: Int64(data.count))) == header.archivedLength)
        }
        archive += Data(count: TarEntryHeader.end)
        let file = try dir.write("a.tar", archive)
        let out = dir.file("out")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let listed = try await Shell.runDetached(["tar", "-tf", file])
        try #require(listed.succeeded, "\(listed.stderr)")
        #expect(listed.stdout.split(separator: "\n").map(String.init) == files.map(\.0))
        let extracted = try await Shell.runDetached(["tar", "-xf", file, "-C", out])
        try #require(extracted.succeeded, "\(extracted.stderr)")
        for (path, data) in files {
            #expect(FileManager.default.contents(atPath: out + "/" + path) == data, "\(path)")
        }
    }

    @Test func paxRecordsCountTheirOwnLength() {
        for value in ["a", String(repeating: "x", count: 90), String(repeating: "y", count: 96), "理赔"] {
            let record = TarEntryHeader.paxRecord("path", value)
            let text = String(decoding: record, as: UTF8.self)
            #expect(Int(text.prefix { $0 != " " }) == record.count, "\(value)")
            #expect(text.hasSuffix(" path=\(value)\n"))
        }
    }
}
