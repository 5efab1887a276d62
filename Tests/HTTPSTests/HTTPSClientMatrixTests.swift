import ClaimGateCore
import ClaimGateTesting
import Foundation
import Testing

/// The clients partners use, as installed from Debian (`scripts/install-deps`): `wget`, httpie
/// (`http`) and Python `requests`, each with the client certificate and the gateway CA pinned.
/// Each lists the bundles, downloads one whole and checks its SHA-256 against the listing,
/// resumes a partial download of it (the exchange is told the offset), and acknowledges it. The
/// commands are the recipes docs/https.md gives.
@Suite struct HTTPSClientMatrixTests {
    static let partner = PartnerAPIFrontEnd.partner
    /// Larger than the 1 MiB the routes read at once: the streamed path.
    static let bytes = HTTPSFrontEndTests.contents((3 << 19) + 17, seed: 5)
    /// What a partial earlier download left.
    static let partial = 600_000

    enum Client: String, CaseIterable, Sendable { case wget, httpie, requests }

    struct Listed: Decodable { let id: String; let sha256: String; let size: Int64 }

    @Test(.timeLimit(.minutes(3)), arguments: Client.allCases)
    func aClientListsDownloadsResumesAndAcknowledges(_ client: Client) async throws {
        let f = try PartnerAPIFrontEnd()
        let e = try f.exchange.addBundle(for: Self.partner, contents: Self.bytes)
        let digest = try HTTPSFrontEndTests.sha256(e.filePath)
        let home = f.dir.file("home")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try await f.serve { port in
            let base = "https://127.0.0.1:\(port)"
            let (ca, cert, key) = (f.dir.file("gateway-ca.pem"), f.dir.file("client.pem"), f.dir.file("client.key"))
            switch client {
            case .wget:
                // HOME: no ~/.wgetrc or ~/.wget-hsts of the machine's user.
                let wget = ["env", "HOME=\(home)", "wget", "-q", "--certificate=\(cert)", "--private-key=\(key)", "--ca-certificate=\(ca)"]
                let list = try await Shell.runDetached(wget + ["-O", "-", "\(base)/v1/bundles"])
                try #require(list.succeeded, "\(list.stderr)")
                let listed = try JSONDecoder().decode([Listed].self, from: list.stdoutData)
                #expect(listed.map(\.id) == [e.bundleID.description] && listed[0].sha256 == digest)
                // Named from Content-Disposition: <id>.p7m.
                let whole = try await Shell.runDetached(wget + ["--content-disposition", "-P", f.dir.file("named"),
                                                                "\(base)/v1/bundles/\(e.bundleID)"])
                try #require(whole.succeeded, "\(whole.stderr)")
                #expect(f.dir.listing("named") == ["\(e.bundleID).p7m"])
                try FileManager.default.moveItem(atPath: f.dir.file("named/\(e.bundleID).p7m"), toPath: f.dir.file("whole.p7m"))
                try f.dir.write("resumed.p7m", Self.bytes.prefix(Self.partial))
                let resumed = try await Shell.runDetached(wget + ["-c", "-O", f.dir.file("resumed.p7m"), "\(base)/v1/bundles/\(e.bundleID)"])
                try #require(resumed.succeeded, "\(resumed.stderr)")
                let receipt = try await Shell.runDetached(wget + ["-O", "-", "--header=Content-Type: application/json",
                                                                  "--post-data={\"sha256\": \"\(listed[0].sha256)\"}",
                                                                  "\(base)/v1/bundles/\(e.bundleID)/receipt"])
                #expect(receipt.succeeded, "\(receipt.stderr)")
            case .httpie:
                let http = ["env", "HOME=\(home)", "http", "--ignore-stdin", "--check-status", "--cert=\(cert)", "--cert-key=\(key)",
                            "--verify=\(ca)"]
                let list = try await Shell.runDetached(http + ["GET", "\(base)/v1/bundles"])
                try #require(list.succeeded, "\(list.stderr)")
                let listed = try JSONDecoder().decode([Listed].self, from: list.stdoutData)
                #expect(listed.map(\.id) == [e.bundleID.description] && listed[0].sha256 == digest)
                // What a download would be, without it (HEAD): nothing recorded as a download.
                let head = try await Shell.runDetached(http + ["--headers", "HEAD", "\(base)/v1/bundles/\(e.bundleID)"])
                try #require(head.succeeded, "\(head.stderr)")
                let fields = head.stdout.split(whereSeparator: \.isNewline)
                #expect(fields.contains("Content-Length: \(Self.bytes.count)"), "\(head.stdout)")
                #expect(head.stdout.contains("Content-Disposition: attachment; filename=\"\(e.bundleID).p7m\""), "\(head.stdout)")
                #expect(head.stdout.contains("ETag: \"\(digest)\""), "\(head.stdout)")
                // (Without --output, httpie names the file from Content-Disposition only at a
                // terminal; with stdout redirected, as here, the body goes to stdout.)
                let whole = try await Shell.runDetached(http + ["--download", "--output", f.dir.file("whole.p7m"),
                                                                "GET", "\(base)/v1/bundles/\(e.bundleID)"])
                try #require(whole.succeeded, "\(whole.stderr)")
                try f.dir.write("resumed.p7m", Self.bytes.prefix(Self.partial))
                let resumed = try await Shell.runDetached(http + ["--download", "--continue", "--output", f.dir.file("resumed.p7m"),
                                                                  "GET", "\(base)/v1/bundles/\(e.bundleID)"])
                try #require(resumed.succeeded, "\(resumed.stderr)")
                let receipt = try await Shell.runDetached(http + ["POST", "\(base)/v1/bundles/\(e.bundleID)/receipt",
                                                                  "sha256=\(listed[0].sha256)"])
                #expect(receipt.succeeded, "\(receipt.stderr)")
            case .requests:
                // The script downloads into a folder by bundle id: a partial file there is resumed,
                // a whole one only checked (304). So: a run with nothing there, one with the partial
                // file, and the first folder again.
                let script = try f.dir.write("pull.py", Self.pythonRecipe)
                for (folder, seed, status) in [("whole", nil, 200), ("resumed", Self.bytes.prefix(Self.partial), 206), ("whole", nil, 304)]
                    as [(String, Data?, Int)] {
                    let dir = f.dir.file(folder)
                    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                    if let seed { try f.dir.write("\(folder)/\(e.bundleID).p7m", seed) }
                    let run = try await Shell.runDetached([Self.python, script, base, ca, cert, key, dir])
                    try #require(run.succeeded, "\(run.stderr)")
                    #expect(run.stdout == "\(e.bundleID) \(status) acknowledged\n")
                }
                for folder in ["whole", "resumed"] {
                    try FileManager.default.moveItem(atPath: f.dir.file("\(folder)/\(e.bundleID).p7m"), toPath: f.dir.file("\(folder).p7m"))
                }
            }
            #expect(try HTTPSFrontEndTests.sha256(f.dir.file("whole.p7m")) == digest, "the whole download")
            #expect(try HTTPSFrontEndTests.sha256(f.dir.file("resumed.p7m")) == digest, "the resumed download")
            #expect(f.exchange.waitUntil { $0.filter { $0.downloadEnd != nil }.count >= 2 }, "both downloads' ends are recorded")
        }
        let calls = f.exchange.calls
        let starts = calls.filter { if case .startDownload = $0 { true } else { false } }
        #expect(starts == [.startDownload(e.bundleID, Self.partner, .started(offset: 0)),
                           .startDownload(e.bundleID, Self.partner, .started(offset: Int64(Self.partial)))], "\(starts)")
        #expect(calls.filter { $0.downloadEnd != nil } == [
            .downloadEnded(e.bundleID, Self.partner, bytes: Int64(Self.bytes.count), complete: true),
            .downloadEnded(e.bundleID, Self.partner, bytes: Int64(Self.bytes.count - Self.partial), complete: false),
        ])
        #expect(f.exchange.isAcknowledged(e.bundleID))
        #expect(f.exchange.refusals.isEmpty, "\(f.exchange.refusals)")
    }

    /// rclone's `http` backend with its defaults, pointed at the HTML index `/v1/outbox/` with the
    /// client certificate and the gateway CA: it lists the bundles as `<id>.p7m` (size and time
    /// from a `HEAD` of each), copies them with the exact bytes, and a second copy finds nothing
    /// to fetch. Recorded: listings, one complete download; rclone caused no refusal.
    @Test(.timeLimit(.minutes(3)))
    func rcloneHTTPListsAndCopiesTheOutboxIndex() async throws {
        let f = try PartnerAPIFrontEnd()
        let e = try f.exchange.addBundle(for: Self.partner, contents: Self.bytes)
        try await f.serve { port in
            let rclone = ["env", "RCLONE_CONFIG=\(f.dir.file("rclone.conf"))", "timeout", "60", "rclone", "-q",
                          "--client-cert", f.dir.file("client.pem"), "--client-key", f.dir.file("client.key"),
                          "--ca-cert", f.dir.file("gateway-ca.pem"), "--http-url", "https://127.0.0.1:\(port)/v1/outbox/"]
            let list = try await Shell.runDetached(rclone + ["lsl", ":http:"])
            try #require(list.succeeded, "exit \(list.status): \(list.stderr)")
            #expect(list.stdout.contains(" \(Self.bytes.count) ") && list.stdout.hasSuffix(" \(e.bundleID).p7m\n"), "\(list.stdout)")
            for _ in 1...2 {
                let copy = try await Shell.runDetached(rclone + ["copy", ":http:", f.dir.file("got")])
                #expect(copy.succeeded, "exit \(copy.status): \(copy.stderr)")
            }
            #expect(FileManager.default.contents(atPath: f.dir.file("got/\(e.bundleID).p7m")) == Self.bytes)
            #expect(f.exchange.waitUntil { $0.contains { $0.downloadEnd != nil } })
            // Only `<id>.p7m` names a bundle there.
            let bare = try await Shell.runDetached(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cert", f.dir.file("client.pem"),
                                                    "--key", f.dir.file("client.key"), "--cacert", f.dir.file("gateway-ca.pem"),
                                                    "https://127.0.0.1:\(port)/v1/outbox/\(e.bundleID)"])
            #expect(bare.stdout == "404")
        }
        #expect(f.exchange.calls.filter { $0.downloadEnd != nil } == [
            .downloadEnded(e.bundleID, Self.partner, bytes: Int64(Self.bytes.count), complete: true),
        ])
        #expect(f.exchange.calls.contains(.listOutbox(Self.partner)), "\(f.exchange.calls)")
        #expect(f.exchange.refusals.map(\.subject) == [e.bundleID.description], "only the bare id: \(f.exchange.refusals)")
    }

    /// Debian's Python, which `python3-requests` is installed for (`scripts/install-deps`), rather
    /// than whichever `python3` comes first on the PATH.
    static let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"

    /// The Python recipe in docs/https.md, as a partner runs it: `python3 pull.py BASE CA CERT KEY DIR`.
    static let pythonRecipe = #"""
        import hashlib, os, sys
        import requests

        base, ca, cert, key, folder = sys.argv[1:6]
        api = requests.Session()
        api.cert = (cert, key)   # the client certificate and its key (PEM)
        api.verify = ca          # the gateway CA (claimgate identity --pem): no other roots
        # Otherwise REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE in the environment would replace `verify`
        # (and proxies would come from the environment: set api.proxies if you need one).
        api.trust_env = False

        listing = api.get(f"{base}/v1/bundles", timeout=30)
        listing.raise_for_status()
        for bundle in listing.json():
            path = os.path.join(folder, bundle["id"] + ".p7m")
            have = os.path.getsize(path) if os.path.exists(path) else 0
            if have == bundle["size"]:
                headers = {"If-None-Match": f'"{bundle["sha256"]}"'}   # 304: you have it already
            elif have:
                headers = {"Range": f"bytes={have}-"}   # resume: only the missing bytes (206)
            else:
                headers = {}
            with api.get(f"{base}/v1/bundles/{bundle['id']}", headers=headers, stream=True, timeout=30) as r:
                if r.status_code != 304:
                    r.raise_for_status()
                    with open(path, "ab" if r.status_code == 206 else "wb") as out:
                        for chunk in r.iter_content(1 << 16):
                            out.write(chunk)
            sha256 = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    sha256.update(block)
            if sha256.hexdigest() != bundle["sha256"]:
                os.remove(path)   # corrupt: download it again next time
                sys.exit(f"{bundle['id']}: SHA-256 mismatch")
            receipt = api.post(f"{base}/v1/bundles/{bundle['id']}/receipt", json={"sha256": sha256.hexdigest()}, timeout=30)
            receipt.raise_for_status()
            print(bundle["id"], r.status_code, receipt.json()["state"])
        """#
}
