import ClaimGateCore
import ClaimGateTesting
@testable import Console
import Foundation
import NIOCore
import Testing

/// A body delivered in pieces of the given sizes (repeated), optionally failing after some bytes
/// as a client that disconnects does.
struct Pieces: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    struct Disconnected: Error {}
    let bytes: [UInt8]
    let sizes: [Int]
    var failAfter: Int? = nil

    struct AsyncIterator: AsyncIteratorProtocol {
        let pieces: Pieces
        var offset = 0, turn = 0
        mutating func next() async throws -> ByteBuffer? {
            if let f = pieces.failAfter, offset >= f { throw Disconnected() }
            guard offset < pieces.bytes.count else { return nil }
            var size = pieces.sizes[turn % pieces.sizes.count]
            if let f = pieces.failAfter { size = Swift.min(size, f - offset) }
            turn += 1
            let end = Swift.min(offset + Swift.max(size, 1), pieces.bytes.count)
            defer { offset = end }
            return ByteBuffer(bytes: pieces.bytes[offset..<end])
        }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(pieces: self) }
}

/// Deterministic pseudo-random sizes (SplitMix64), so a failing split can be replayed.
func randomSizes(seed: UInt64, count: Int = 257, upTo max: Int = 300) -> [Int] {
    var state = seed
    return (0..<count).map { _ in
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(max)) + 1
    }
}

/// A multipart body: each part's raw header lines and content, between the delimiters.
func multipart(_ boundary: String, _ parts: [(headers: [String], content: [UInt8])],
               preamble: String = "", epilogue: String = "", close: Bool = true) -> [UInt8] {
    var out = Array(preamble.utf8)
    for (i, part) in parts.enumerated() {
        out += Array(((i == 0 && preamble.isEmpty ? "" : "\r\n") + "--\(boundary)\r\n").utf8)
        for h in part.headers { out += Array((h + "\r\n").utf8) }
        out += Array("\r\n".utf8)
        out += part.content
    }
    if close { out += Array("\r\n--\(boundary)--\r\n\(epilogue)".utf8) }
    return out
}

func field(_ name: String, _ value: String) -> (headers: [String], content: [UInt8]) {
    (["Content-Disposition: form-data; name=\"\(name)\""], Array(value.utf8))
}

func file(_ name: String, _ filename: String, _ content: [UInt8], type: String = "application/pdf") -> (headers: [String], content: [UInt8]) {
    (["Content-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"", "Content-Type: \(type)"], content)
}

@Suite struct MultipartFormReaderTests {
    static let boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
    static let contentType = "multipart/form-data; boundary=\(boundary)"

    /// Content that looks like the boundary in every way but the one that counts.
    static let tricky: [UInt8] = Array("%PDF-1.7\r\n--\(boundary)X not a delimiter\r\n--\(boundary)".utf8)
        + Array("\n--\(boundary)\r\r\n-\r\n--\r\n--\(String(boundary.dropLast()))\r\n".utf8) + (0...255).map(UInt8.init)
        + Array("--\(boundary)--".utf8) + Array("\r\n--\(boundary) x\r\n".utf8) + [13]

    static let sendForm = multipart(boundary, [
        field("csrf", "tok-123"),
        field("claim", "CLM-2025-0001"),
        field("metadata", "理赔人=张三\r\n地址=上海"),
        file("documents", "claim-form.pdf", tricky),
        file("documents", "理赔单.pdf", Array(repeating: 0x41, count: 10_000) + [13, 10], type: "image/png"),
    ], preamble: "This is the preamble.\r\n", epilogue: "This is the epilogue.\r\n")

    func read(_ bytes: [UInt8], sizes: [Int], into dir: TemporaryDirectory, folder: String = "uploads",
              contentType: String = contentType,
              configuration: MultipartFormReader.Configuration = .init(), failAfter: Int? = nil) async throws -> MultipartForm {
        let reader = try MultipartFormReader(contentType: contentType, directory: dir.file(folder), configuration: configuration)
        return try await reader.read(Pieces(bytes: bytes, sizes: sizes, failAfter: failAfter))
    }

    @Test(arguments: [[1], [7], [4096], [2, 3, 1, 70, 5], randomSizes(seed: 1), randomSizes(seed: 42, upTo: 5000)])
    func readsFieldsAndFilesWhateverThePieces(sizes: [Int]) async throws {
        let dir = TemporaryDirectory("claimgate-multipart")
        let form = try await read(Self.sendForm, sizes: sizes, into: dir)

        #expect(form.fields.map(\.name) == ["csrf", "claim", "metadata"])
        #expect(form[field: "claim"] == "CLM-2025-0001")
        #expect(form[field: "metadata"] == "理赔人=张三\r\n地址=上海")
        let files = form.files("documents")
        try #require(files.count == 2)
        #expect(files[0].filename == "claim-form.pdf")
        #expect(files[0].contentType == "application/pdf")
        #expect(files[0].size == Int64(Self.tricky.count))
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: files[0].path))) == Self.tricky)
        #expect(files[1].filename == "理赔单.pdf")
        #expect(files[1].contentType == "image/png")
        #expect(try Data(contentsOf: URL(fileURLWithPath: files[1].path)) == Data(repeating: 0x41, count: 10_000) + [13, 10])
        for f in files {
            #expect(f.path.hasPrefix(dir.file("uploads") + "/upload-"))
            let mode = try FileManager.default.attributesOfItem(atPath: f.path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
        }
    }

    @Test func theFirstDelimiterMayHavePaddingAndPartsNoHeadersButTheName() async throws {
        let dir = TemporaryDirectory("claimgate-multipart")
        let b = "simple"
        let body = Array("--simple \t\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--simple\r\ncontent-disposition:form-data;name=\"b\";\r\n\r\n\r\n--simple--".utf8)
        let form = try await read(body, sizes: [3], into: dir, contentType: "Multipart/Form-Data; boundary=\"\(b)\"")
        #expect(form.fields.map(\.name) == ["a", "b"])
        #expect(form.fields.map(\.value) == ["1", ""])
    }

    @Test func quotedAndExtendedFileNames() async throws {
        let dir = TemporaryDirectory("claimgate-multipart")
        let body = multipart(Self.boundary, [
            (["Content-Disposition: form-data; name=\"f\"; filename=\"a \\\"b\\\".pdf\""], [1]),
            (["Content-Disposition: form-data; name=\"f\"; filename=\"fallback.pdf\"; filename*=UTF-8''%E4%B8%AD%E6%96%87.pdf"], [2]),
            (["Content-Disposition: form-data; name=\"f\"; filename*=utf-8'zh-CN'%E7%90%86%E8%B5%94%202025.pdf"], [3]),
            (["Content-Disposition: form-data; name=\"f\"; filename=\"C:\\\\Users\\\\zhang\\\\报告.docx\""], [4]),
            (["Content-Disposition: form-data; name=\"f\"; filename=\"../../etc/passwd\""], [5]),
            (["Content-Disposition: form-data; name=\"f\"; filename=\"理赔 单.pdf\""], [6]),
        ])
        let form = try await read(body, sizes: [11], into: dir)
        #expect(form.files.map(\.filename) == ["a \"b\".pdf", "中文.pdf", "理赔 2025.pdf", "报告.docx", "passwd", "理赔 单.pdf"])
        #expect(form.files.map(\.contentType).allSatisfy { $0 == "application/octet-stream" })
        #expect(dir.listing("uploads").allSatisfy { $0.hasPrefix("upload-") })
    }

    @Test(arguments: ["", ".", "..", "dir/", "a/..", "a\\\\.."])
    func emptyOrDotFileNamesAreRefused(name: String) async throws {
        let dir = TemporaryDirectory("claimgate-multipart")
        let body = multipart(Self.boundary, [file("f", "ok.pdf", [1, 2]), file("f", name, [1])])
        await #expect(throws: ClaimGateError.self) { try await read(body, sizes: [5], into: dir) }
        #expect(dir.listing("uploads").isEmpty)
    }

    @Test(arguments: ["%00.pdf", "a%0Ab.pdf", "a%7F.pdf", "%E2%80%AEfdp.exe", "%C2%85x", "%FF.pdf", "%E4%B8", "%G1.pdf"])
    func fileNamesWithControlCharactersOrBadEncodingAreRefused(encoded: String) async throws {
        let dir = TemporaryDirectory("claimgate-multipart")
        let body = multipart(Self.boundary, [
            (["Content-Disposition: form-data; name=\"f\"; filename*=UTF-8''\(encoded)"], [1]),
        ])
        let error = await #expect(throws: ClaimGateError.self) { try await read(body, sizes: [64], into: dir) }
        #expect(error?.code == .invalidArgument)
        #expect(dir.listing("uploads").isEmpty)
    }

    @Test func anEmptyFileInputIsSkippedButAnUnnamedFileIsRefused() async throws {
        let dir = TemporaryDirectory("claimgate-multipart")
        let empty = multipart(Self.boundary, [field("a", "1"), file("documents", "", [], type: "application/octet-stream")])
        let form = try await read(empty, sizes: [9], into: dir)
        #expect(form.files.isEmpty)
        #expect(form.fields.count == 1)

        let unnamed = multipart(Self.boundary, [file("documents", "", [1, 2, 3])])
        let error = await #expect(throws: ClaimGateError.self) { try await read(unnamed, sizes: [9], into: dir) }
        #expect(error?.message.contains("no name") == true)
    }

    @Test func anEmptyFormIsAForm() async throws {
        let dir = TemporaryDirectory("claimgate-multipart")
        let form = try await read(Array("--\(Self.boundary)--\r\n".utf8), sizes: [4], into: dir)
        #expect(form.fields.isEmpty && form.files.isEmpty)
    }

    // MARK: Limits

    static func configuration(_ change: (inout MultipartFormReader.Configuration) -> Void) -> MultipartFormReader.Configuration {
        var c = MultipartFormReader.Configuration()
        change(&c)
        return c
    }

    @Test(arguments: [
        (configuration { $0.maxFileBytes = 10_001 }, "larger than the 10001 bytes one upload may carry"),
        (configuration { $0.maxBodyBytes = 9_000 }, "larger than the 9000 bytes the console accepts"),
        (configuration { $0.maxFiles = 1 }, "more than 1 files"),
        (configuration { $0.maxFields = 2 }, "more than 2 fields"),
        (configuration { $0.maxFieldBytes = 20 }, "field 'metadata' is longer than 20 bytes"),
        (configuration { $0.maxFieldsTotalBytes = 30 }, "text fields hold more than 30 bytes"),
        (configuration { $0.maxHeaderBytes = 60 }, "headers are longer than 60 bytes"),
    ])
    func limitsRefuseTheFormAndLeaveNoFile(configuration: MultipartFormReader.Configuration, words: String) async throws {
        let dir = TemporaryDirectory("claimgate-multipart")
        for sizes in [[1], [4096]] {
            let error = await #expect(throws: ClaimGateError.self) {
                try await read(Self.sendForm, sizes: sizes, into: dir, configuration: configuration)
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains(words) == true, "\(error?.message ?? "")")
            #expect(dir.listing("uploads").isEmpty)
        }
    }

    @Test func aLargeFileStreamsWithinTheLimits() async throws {
        let dir = TemporaryDirectory("claimgate-multipart")
        let big = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let body = multipart(Self.boundary, [file("documents", "scan.tiff", big)])
        let form = try await read(body, sizes: [65536, 1000, 16384], into: dir,
                                  configuration: Self.configuration { $0.maxFileBytes = 3 << 20; $0.maxBodyBytes = 4 << 20 })
        #expect(form.files.first?.size == 3 << 20)
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: form.files[0].path))) == big)
    }

    /// The parser keeps at most one piece plus the delimiter (and its padding) between events.
    @Test(arguments: [1, 7, 4096, 65536])
    func theParserHoldsOnePiecePlusTheBoundary(piece: Int) throws {
        let content = (0..<(1 << 20)).map { i -> UInt8 in i % 997 == 0 ? 13 : UInt8(truncatingIfNeeded: i) }
        let body = multipart(Self.boundary, [file("documents", "a.bin", content)])
        var parser = MultipartParser(boundary: Self.boundary, maxHeaderBytes: 16 << 10)
        var received = 0, most = 0
        var offset = 0
        while offset < body.count {
            let end = min(offset + piece, body.count)
            parser.append(ByteBuffer(bytes: body[offset..<end]))
            offset = end
            most = max(most, parser.pendingBytes)
            while let event = try parser.next() {
                if case .data(let b) = event { received += b.readableBytes }
                most = max(most, parser.pendingBytes)
            }
        }
        try parser.finish()
        #expect(received == content.count)
        // Between pieces the header block (one line, before the first part) may wait whole.
        #expect(most <= max(piece, 200) + Self.boundary.utf8.count + 4 + MultipartParser.maxPadding + 2)
    }

    // MARK: Malformed, cut short, gone

    @Test(arguments: [
        ("missing close", Array(multipart(boundary, [field("a", "1"), file("f", "x.pdf", [1, 2, 3])], close: false)), "closing boundary"),
        ("cut in a delimiter", Array(multipart(boundary, [file("f", "x.pdf", [1, 2, 3])]).dropLast(6)), "closing boundary"),
        ("no delimiter", Array("just text, no form".utf8), "closing boundary"),
        ("empty", [], "closing boundary"),
        ("no disposition", multipart(boundary, [(["Content-Type: text/plain"], [1])]), "no Content-Disposition"),
        ("not form-data", multipart(boundary, [(["Content-Disposition: attachment; name=a"], [1])]), "not 'form-data'"),
        ("no name", multipart(boundary, [(["Content-Disposition: form-data; filename=a.pdf"], [1])]), "not 'form-data'"),
        ("twice", multipart(boundary, [(["Content-Disposition: form-data; name=a; name=b"], [1])]), "twice"),
        ("unclosed quote", multipart(boundary, [(["Content-Disposition: form-data; name=\"a"], [1])]), "closing quote"),
        ("no colon", multipart(boundary, [(["Content-Disposition form-data; name=a"], [1])]), "not 'Name: value'"),
        ("bare LF in header", multipart(boundary, [(["Content-Disposition: form-data; name=a\nX: y"], [1])]), "control character"),
        ("field not UTF-8", multipart(boundary, [(["Content-Disposition: form-data; name=a"], [0xE4, 0xB8])]), "not UTF-8 text"),
        ("junk after delimiter", Array("--\(boundary)junk\r\n".utf8), "closing boundary"),
    ] as [(String, [UInt8], String)])
    func malformedBodiesAreRefusedAndLeaveNoFile(label: String, body: [UInt8], words: String) async throws {
        let dir = TemporaryDirectory("claimgate-multipart")
        for sizes in [[1], [7], [4096]] {
            let error = await #expect(throws: ClaimGateError.self, "\(label)") { try await read(body, sizes: sizes, into: dir) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains(words) == true, "\(label): \(error?.message ?? "")")
            #expect(dir.listing("uploads").isEmpty)
        }
    }

    @Test(arguments: [
        (nil, "no Content-Type"),
        ("application/x-www-form-urlencoded", "not multipart/form-data"),
        ("multipart/form-data", "has no boundary"),
        ("multipart/form-data; boundary=", "not valid"),
        ("multipart/form-data; boundary=\"ends with space \"", "not valid"),
        ("multipart/form-data; boundary=" + String(repeating: "x", count: 71), "not valid"),
        ("multipart/form-data; boundary=\"a\u{7F}b\"", "not valid"),
    ] as [(String?, String)])
    func theContentTypeMustGiveAValidBoundary(contentType: String?, words: String) throws {
        let error = #expect(throws: ClaimGateError.self) { try MultipartFormReader.boundary(contentType: contentType) }
        #expect(error?.message.contains(words) == true, "\(error?.message ?? "")")
    }

    @Test func quotedBoundariesMayHoldSpaces() throws {
        #expect(try MultipartFormReader.boundary(contentType: "multipart/form-data; charset=utf-8; boundary=\"a b:c\"") == "a b:c")
    }

    @Test(arguments: [1, 100, 9000])
    func aClientThatDisconnectsLeavesNoFile(after: Int) async throws {
        let dir = TemporaryDirectory("claimgate-multipart")
        let error = await #expect(throws: ClaimGateError.self) {
            try await read(Self.sendForm, sizes: [64], into: dir, failAfter: after)
        }
        #expect(error?.message.contains("did not arrive whole") == true)
        #expect(dir.listing("uploads").isEmpty)
    }

    // MARK: Real peers

    /// `curl -F` posts to a one-shot listener that saves the request's body: the reader reads it.
    @Test func readsWhatCurlSends() async throws {
        let dir = TemporaryDirectory("claimgate-multipart")
        try dir.write("in/claim.pdf", Data(Self.tricky))
        try dir.write("in/理赔单.pdf", Data("第二份文件\r\n".utf8))
        let script = """
        import socket, subprocess, sys
        d = sys.argv[1]
        s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
        url = "http://127.0.0.1:%d/send" % s.getsockname()[1]
        curl = subprocess.Popen(["curl", "-sS", "-H", "Expect:", "-F", "claim=CLM-7", "-F", "note=理赔 备注",
            "-F", "documents=@" + d + "/in/claim.pdf;type=application/pdf",
            "-F", "documents=@" + d + "/in/理赔单.pdf", url])
        c, _ = s.accept(); data = b""
        while b"\\r\\n\\r\\n" not in data: data += c.recv(65536)
        head, body = data.split(b"\\r\\n\\r\\n", 1)
        headers = {k.lower(): v for k, v in (l.split(b": ", 1) for l in head.split(b"\\r\\n")[1:])}
        while len(body) < int(headers[b"content-length"]): body += c.recv(65536)
        c.sendall(b"HTTP/1.1 204 No Content\\r\\nConnection: close\\r\\n\\r\\n"); c.close()
        assert curl.wait() == 0
        open(d + "/body", "wb").write(body); open(d + "/content-type", "wb").write(headers[b"content-type"])
        """
        try await readsPeerBody(script: script, dir: dir, fields: [("claim", "CLM-7"), ("note", "理赔 备注")],
                                files: [("claim.pdf", "application/pdf", Self.tricky), ("理赔单.pdf", nil, Array("第二份文件\r\n".utf8))])
    }

    /// Python `requests` (urllib3) builds the body as browsers do (UTF-8 file names, `"` as %22).
    @Test func readsWhatPythonRequestsBuilds() async throws {
        let dir = TemporaryDirectory("claimgate-multipart")
        let script = """
        import sys, requests
        d = sys.argv[1]
        r = requests.Request("POST", "http://127.0.0.1/send", data={"claim": "CLM-8", "purpose": "赔付"},
            files=[("documents", ("发票.pdf", b"%PDF-1.4 \\r\\n--x\\r\\n", "application/pdf")),
                   ("documents", ("scan.png", bytes(range(256)) * 40, "image/png"))]).prepare()
        open(d + "/body", "wb").write(r.body); open(d + "/content-type", "w").write(r.headers["Content-Type"])
        """
        try await readsPeerBody(script: script, dir: dir, fields: [("claim", "CLM-8"), ("purpose", "赔付")],
                                files: [("发票.pdf", "application/pdf", Array("%PDF-1.4 \r\n--x\r\n".utf8)),
                                        ("scan.png", "image/png", Array(repeating: (0...255).map(UInt8.init), count: 40).flatMap { $0 })])
    }

    private func readsPeerBody(script: String, dir: TemporaryDirectory, fields: [(String, String)],
                               files: [(String, String?, [UInt8])]) async throws {
        let peer = try Shell.run(["python3", "-c", script, dir.path])
        try #require(peer.succeeded, "the peer failed: \(peer.stderr)")
        let body = try Array(Data(contentsOf: URL(fileURLWithPath: dir.file("body"))))
        let contentType = try String(contentsOfFile: dir.file("content-type"), encoding: .utf8)
        for sizes in [[1], [7], [4096], randomSizes(seed: 7)] {
            let reader = try MultipartFormReader(contentType: contentType, directory: dir.file("uploads"))
            let form = try await reader.read(Pieces(bytes: body, sizes: sizes))
            #expect(form.fields.map(\.name) == fields.map(\.0))
            #expect(form.fields.map(\.value) == fields.map(\.1))
            try #require(form.files.count == files.count)
            for (got, want) in zip(form.files, files) {
                #expect(got.field == "documents")
                #expect(got.filename == want.0)
                if let type = want.1 { #expect(got.contentType == type) }
                #expect(try Array(Data(contentsOf: URL(fileURLWithPath: got.path))) == want.2)
            }
        }
    }
}
