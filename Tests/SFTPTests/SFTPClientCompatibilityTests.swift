import ClaimGateCore
import ClaimGateTesting
import Foundation
import Testing

/// Clients partners already run, with their default settings, against the SFTP front end: each
/// connects with the pinned host key, lists and downloads the exact bytes, and exits 0; what it
/// asks for beside SFTP (a command, a shell) is refused at once, not left unanswered.
@Suite(.serialized) struct SFTPClientCompatibilityTests {
    static let partner = SFTPFrontEnd.partner

    /// rclone's sftp backend with its defaults: it opens a second session channel to detect the
    /// remote shell (`echo`), which used to go unanswered and hang it; and it raced the server's
    /// disconnect at the end (`use of closed network connection`, exit 5).
    @Test func rcloneWithItsDefaultsListsAndCopiesAndExitsZero() throws {
        let f = try SFTPFrontEnd()
        defer { f.stop() }
        let bytes = SFTPFrontEndTests.contents(400_000)
        let e = try f.exchange.addBundle(for: Self.partner, contents: bytes)
        let remote = ":sftp,host=127.0.0.1,port=\(f.server.boundPort),user=\(Self.partner),key_file=\(f.dir.file("partner_ed25519")),known_hosts_file=\(f.dir.file("known_hosts")):"
        let env = ["RCLONE_CONFIG": f.dir.file("rclone.conf")]   // none: defaults only
        for run in 1...3 {
            let list = try Shell.run(["timeout", "30", "rclone", "lsf", "-q", remote + "/outbox"], environment: env)
            #expect(list.status == 0, "run \(run): exit \(list.status) (124: it hung): \(list.stderr)")
            #expect(list.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == e.name)
        }
        let copy = try Shell.run(["timeout", "60", "rclone", "copy", "-q", remote + "/outbox", f.dir.file("got")], environment: env)
        #expect(copy.status == 0, "exit \(copy.status): \(copy.stderr)")
        #expect(FileManager.default.contents(atPath: f.dir.file("got/" + e.name)) == bytes)
        // The shell detection was refused and recorded, not served.
        #expect(f.exchange.refusals.contains { $0.reason == .operationRefused && $0.subject == "exec" }, "\(f.exchange.refusals)")
    }

    /// OpenSSH's connection sharing: a command sent over an SFTP connection a ControlMaster keeps
    /// open is refused at once (it used to wait forever for an answer).
    @Test func aCommandOverASharedSFTPConnectionIsRefusedAtOnce() throws {
        let f = try SFTPFrontEnd()
        defer { f.stop() }
        let control = "/tmp/cg-cm-\(UUID().uuidString.prefix(8))"   // a short path: sockets have a length limit
        let common = ["-p", String(f.server.boundPort), "-i", f.dir.file("partner_ed25519"),
                      "-o", "UserKnownHostsFile=\(f.dir.file("known_hosts"))", "-o", "StrictHostKeyChecking=yes",
                      "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ControlPath=\(control)"]
        // The master: an interactive `sftp` whose input stays open (and idle) for a while, so its
        // SFTP channel is being served when the shared connection is used.
        let sftpOptions = common.map { $0 == "-p" ? "-P" : $0 }
        let quoted = (["sftp", "-o", "ControlMaster=yes"] + sftpOptions + ["\(Self.partner)@127.0.0.1"]).map { "'\($0)'" }.joined(separator: " ")
        let master = try ServerProcess(["/bin/bash", "-c", "sleep 20 | " + quoted], logPath: f.dir.file("master.log"))
        defer { _ = master.stop(timeout: 5); unlink(control) }
        let deadline = Date().addingTimeInterval(10)
        while !(FileManager.default.fileExists(atPath: control) && f.exchange.calls.contains(.recordLogin(Self.partner, transport: .sftp))),
              Date() < deadline { usleep(50_000) }
        try #require(FileManager.default.fileExists(atPath: control), "the master did not start: \(master.text)")
        usleep(300_000)   // its SFTP channel is open and served
        let started = Date()
        let r = try Shell.run(["timeout", "20", "ssh"] + common + ["-o", "ControlMaster=no", "\(Self.partner)@127.0.0.1", "echo", "hello"])
        #expect(r.status != 0 && r.status != 124, "exit \(r.status) (124: it hung)")
        #expect(!r.stdout.contains("hello"))
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(f.exchange.refusals.contains { $0.subject == "exec" }, "\(f.exchange.refusals)")
    }

    /// Uploads the way clients make them: rclone sets the modification time after the data went
    /// through (SETSTAT), OpenSSH's `put -p` preserves times and mode (SETSTAT on the handle or
    /// the name); both are answered OK on the partner's own upload and change nothing. `/inbox`
    /// shows as writable, and a name with an upload open answers `stat` with that upload.
    @Test func uploadsThatSetTimesOrModesOnTheirOwnFileSucceed() throws {
        let f = try SFTPFrontEnd()
        defer { f.stop() }
        let report = SFTPFrontEndTests.contents(70_000, seed: 3)
        try report.write(to: URL(fileURLWithPath: f.dir.file("rclone-report.p7m")))
        try report.write(to: URL(fileURLWithPath: f.dir.file("put-p.p7m")))
        let remote = ":sftp,host=127.0.0.1,port=\(f.server.boundPort),user=\(Self.partner),key_file=\(f.dir.file("partner_ed25519")),known_hosts_file=\(f.dir.file("known_hosts")):"
        let copy = try Shell.run(["timeout", "60", "rclone", "copyto", "-q", f.dir.file("rclone-report.p7m"), remote + "/inbox/rclone-report.p7m"],
                                 environment: ["RCLONE_CONFIG": f.dir.file("rclone.conf")])
        #expect(copy.status == 0, "exit \(copy.status): \(copy.stderr)")
        let put = try f.sftp("put -p put-p.p7m /inbox/put-p.p7m\nls -l /")
        #expect(put.succeeded, "\(put.stderr)")
        #expect(put.stdout.contains("drwx-wx---"), "\(put.stdout)")
        let names = Set(f.exchange.uploads(of: Self.partner).map(\.name))
        #expect(names == ["rclone-report.p7m", "put-p.p7m"], "\(names)")
        #expect(f.exchange.uploadedContents("rclone-report.p7m", of: Self.partner) == report)
        #expect(!f.exchange.refusals.contains { $0.subject?.hasPrefix("setstat") == true }, "\(f.exchange.refusals)")
        // Elsewhere, setting attributes is still refused.
        let chmod = try f.sftp("chmod 600 /inbox/nobody.p7m")
        #expect(!chmod.succeeded)
    }

    /// WinSCP's way (upload to `NAME.filepart`, then rename), and lftp's with
    /// `xfer:use-temp-file` (`.in.NAME.`): the report is processed under its real name after the
    /// rename, never under the temporary one; a temporary name never renamed is discarded.
    @Test func anUploadToATemporaryNameIsProcessedUnderItsRealNameAfterTheRename() throws {
        let f = try SFTPFrontEnd()
        defer { f.stop() }
        let report = SFTPFrontEndTests.contents(50_000, seed: 9)
        try report.write(to: URL(fileURLWithPath: f.dir.file("report.p7m")))
        let r = try f.sftp("put report.p7m /inbox/winscp.p7m.filepart\nrename /inbox/winscp.p7m.filepart /inbox/winscp.p7m\nput report.p7m /inbox/abandoned.p7m.filepart")
        #expect(r.succeeded, "\(r.stderr)")
        #expect(f.sessionsEnd(timeout: 5))
        #expect(Set(f.exchange.uploads(of: Self.partner).map(\.name)) == ["winscp.p7m"])
        #expect(f.exchange.uploadedContents("winscp.p7m", of: Self.partner) == report)
        #expect(f.exchange.calls.contains(.uploadDiscarded("abandoned.p7m.filepart", interrupted: true)), "\(f.exchange.calls)")

        let lftp = try Shell.run(["timeout", "60", "lftp", "-c", """
            set sftp:connect-program "ssh -a -x -i \(f.dir.file("partner_ed25519")) -o UserKnownHostsFile=\(f.dir.file("known_hosts")) -o StrictHostKeyChecking=yes -o BatchMode=yes -o IdentitiesOnly=yes"; \
            set xfer:use-temp-file yes; \
            open -u \(Self.partner), sftp://127.0.0.1:\(f.server.boundPort); \
            put \(f.dir.file("report.p7m")) -o /inbox/lftp.p7m
            """])
        #expect(lftp.status == 0, "exit \(lftp.status): \(lftp.stderr)")
        #expect(f.exchange.uploadedContents("lftp.p7m", of: Self.partner) == report)
        #expect(!f.exchange.uploads(of: Self.partner).contains { $0.name.hasPrefix(".in.") })
    }

    /// asyncssh (from PyPI, in a fresh venv): SFTP, then `conn.run` on the same connection (it
    /// used to wait forever for an answer), and an upload with `preserve=True` (times and mode set
    /// after the data, which used to fail the upload).
    @Test func asyncsshRunsACommandBesideSFTPAndPreservesTimesOnUpload() throws {
        let f = try SFTPFrontEnd()
        defer { f.stop() }
        let bytes = SFTPFrontEndTests.contents(120_000, seed: 5)
        let e = try f.exchange.addBundle(for: Self.partner, contents: bytes)
        try SFTPFrontEndTests.contents(30_000, seed: 6).write(to: URL(fileURLWithPath: f.dir.file("report.p7m")))
        let venv = f.dir.file("venv")
        try #require(try Shell.run(["python3", "-m", "venv", venv]).succeeded, "python3 -m venv failed")
        let pip = try Shell.run([venv + "/bin/python", "-m", "pip", "install", "-q", "--disable-pip-version-check", "--timeout", "30", "asyncssh"])
        try #require(pip.succeeded, "pip install asyncssh failed (is PyPI reachable?): \(pip.stderr.suffix(1000))")
        let script = try f.dir.write("client.py", """
            import asyncio, asyncssh, hashlib, sys
            async def main():
                async with asyncssh.connect('127.0.0.1', port=\(f.server.boundPort), username='\(Self.partner)',
                                            client_keys=['\(f.dir.file("partner_ed25519"))'],
                                            known_hosts='\(f.dir.file("known_hosts"))') as conn:
                    async with conn.start_sftp_client() as sftp:
                        names = await sftp.listdir('/outbox')
                        await sftp.get('/outbox/\(e.name)', '\(f.dir.file("got.p7m"))')
                        try:
                            r = await asyncio.wait_for(conn.run('echo hello', check=False), 10)
                            print('run', r.exit_status, repr(r.stdout))
                        except asyncssh.ChannelOpenError as err:
                            print('run refused', err.code)
                        await sftp.put('\(f.dir.file("report.p7m"))', '/inbox/report.p7m', preserve=True)
                        print('names', sorted(n for n in names if not n.startswith('.')))
            asyncio.run(main())
            """)
        let r = try Shell.run(["timeout", "60", venv + "/bin/python", script])
        #expect(r.status == 0, "exit \(r.status) (124: it hung): \(r.stderr.suffix(2000))")
        #expect(r.stdout.contains("names ['\(e.name)']"), "\(r.stdout)")
        #expect(!r.stdout.contains("hello"), "\(r.stdout)")
        #expect(FileManager.default.contents(atPath: f.dir.file("got.p7m")) == bytes)
        #expect(f.exchange.uploads(of: Self.partner).map(\.name) == ["report.p7m"])
    }

    /// curl's `sftp://` (libssh2), with the host key pinned by its SHA-256: list, download, resume,
    /// upload a report.
    @Test func curlSFTPListsDownloadsResumesAndUploads() throws {
        let f = try SFTPFrontEnd()
        defer { f.stop() }
        let bytes = SFTPFrontEndTests.contents(300_000, seed: 4)
        let e = try f.exchange.addBundle(for: Self.partner, contents: bytes)
        let fingerprint = try Shell.run(["ssh-keygen", "-lf", f.dir.file("known_hosts"), "-E", "sha256"])
        try #require(fingerprint.succeeded, "\(fingerprint.stderr)")
        let sha = try #require(fingerprint.stdout.split(separator: " ").first { $0.hasPrefix("SHA256:") }).dropFirst(7)
        let base = "sftp://\(Self.partner)@127.0.0.1:\(f.server.boundPort)"
        let common = ["timeout", "30", "curl", "-sS", "--hostpubsha256", String(sha) + "=",
                      "--key", f.dir.file("partner_ed25519"), "--pubkey", f.dir.file("partner_ed25519") + ".pub"]
        let list = try Shell.run(common + ["\(base)/outbox/"])
        #expect(list.status == 0, "exit \(list.status): \(list.stderr)")
        #expect(list.stdout.contains(e.name))
        // Resume: the first 100,000 bytes are already here.
        try bytes.prefix(100_000).write(to: URL(fileURLWithPath: f.dir.file("got.p7m")))
        let get = try Shell.run(common + ["-C", "-", "-o", f.dir.file("got.p7m"), "\(base)/outbox/\(e.name)"])
        #expect(get.status == 0, "exit \(get.status): \(get.stderr)")
        #expect(FileManager.default.contents(atPath: f.dir.file("got.p7m")) == bytes)
        try SFTPFrontEndTests.contents(20_000, seed: 8).write(to: URL(fileURLWithPath: f.dir.file("report.p7m")))
        let put = try Shell.run(common + ["-T", f.dir.file("report.p7m"), "\(base)/inbox/report.p7m"])
        #expect(put.status == 0, "exit \(put.status): \(put.stderr)")
        #expect(f.exchange.uploads(of: Self.partner).map(\.name) == ["report.p7m"])
        // A wrong host key is refused by curl before anything is sent.
        var wrong = common
        wrong[wrong.firstIndex(of: "--hostpubsha256")! + 1] = String(repeating: "A", count: 43) + "="
        #expect(try Shell.run(wrong + ["\(base)/outbox/"]).status != 0)
    }

    /// What the server says it supports in its SFTP version reply is what it serves: OpenSSH's
    /// `sftp` lists the extensions it was offered (`-vvv`), and uses `hardlink@openssh.com` and
    /// `statvfs@openssh.com` only when offered, so offering one the server refuses turns `ln` and
    /// `df` into a confusing failure.
    @Test func theVersionReplyOffersOnlyExtensionsTheServerServes() throws {
        let f = try SFTPFrontEnd()
        defer { f.stop() }
        let file = try f.dir.write("batch-ext", "ls /\n")
        let r = try Shell.run(["sftp", "-vvv", "-b", file, "-P", String(f.server.boundPort), "-i", f.dir.file("partner_ed25519"),
                               "-o", "UserKnownHostsFile=\(f.dir.file("known_hosts"))", "-o", "StrictHostKeyChecking=yes",
                               "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "\(Self.partner)@127.0.0.1"], directory: f.dir.path)
        #expect(r.succeeded, "\(r.stderr.suffix(2000))")
        let offered = r.stderr.split(separator: "\n").compactMap { line -> String? in
            guard let range = line.range(of: "Server supports extension \"") else { return nil }
            return String(line[range.upperBound...].prefix { $0 != "\"" })
        }
        #expect(!offered.contains("hardlink@openssh.com"), "\(offered)")
        #expect(!offered.contains("statvfs@openssh.com") && !offered.contains("fstatvfs@openssh.com"), "\(offered)")
    }

    /// sshfs (FUSE; only where `/dev/fuse` is there): the outbox mounted, a bundle copied with
    /// `cp`, a report written into the inbox with `cp` (sshfs opens, writes, then `lstat`s the
    /// open name, which used to fail and leave a 0-byte report that took the name), and a delete
    /// in the outbox refused as permission denied.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/fuse") && Shell.which("sshfs") != nil))
    func sshfsMountsCopiesAndUploads() throws {
        let f = try SFTPFrontEnd()
        defer { f.stop() }
        let bytes = SFTPFrontEndTests.contents(500_000, seed: 11)
        let e = try f.exchange.addBundle(for: Self.partner, contents: bytes)
        let report = SFTPFrontEndTests.contents(90_000, seed: 12)
        try report.write(to: URL(fileURLWithPath: f.dir.file("report.p7m")))
        let mount = f.dir.file("mnt")
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        // In the foreground (`-f`), so the test holds its PID and stops it; a daemonised sshfs
        // would also keep the output pipe open.
        let sshfs = try ServerProcess(["/usr/bin/env", "sshfs", "-f", "\(Self.partner)@127.0.0.1:/", mount,
                                       "-p", String(f.server.boundPort), "-o", "IdentityFile=\(f.dir.file("partner_ed25519"))",
                                       "-o", "UserKnownHostsFile=\(f.dir.file("known_hosts"))", "-o", "StrictHostKeyChecking=yes",
                                       "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes"], logPath: f.dir.file("sshfs.log"))
        defer { _ = try? Shell.run(["umount", "-l", mount]); _ = sshfs.stop(timeout: 5) }
        let deadline = Date().addingTimeInterval(15)
        func mounted() -> Bool { ((try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? "").contains(" \(mount) fuse") }
        while !mounted(), Date() < deadline { usleep(50_000) }
        try #require(mounted(), "sshfs did not mount: \(sshfs.text)")
        // Through programs under `timeout`, never this process: a stuck FUSE call cannot be undone.
        let list = try Shell.run(["timeout", "30", "ls", mount + "/outbox"])
        #expect(list.stdout == e.name + "\n", "exit \(list.status): \(list.stdout) \(list.stderr)")
        let cp = try Shell.run(["timeout", "30", "cp", mount + "/outbox/" + e.name, f.dir.file("got.p7m")])
        #expect(cp.status == 0, "\(cp.stderr)")
        #expect(FileManager.default.contents(atPath: f.dir.file("got.p7m")) == bytes)
        let up = try Shell.run(["timeout", "30", "cp", f.dir.file("report.p7m"), mount + "/inbox/report.p7m"])
        #expect(up.status == 0, "exit \(up.status): \(up.stderr)")
        let rm = try Shell.run(["timeout", "30", "rm", "-f", mount + "/outbox/" + e.name])
        #expect(rm.status != 0 && rm.stderr.contains("Permission denied"), "exit \(rm.status): \(rm.stderr)")
        #expect(try Shell.run(["umount", mount]).succeeded)
        #expect(f.sessionsEnd(timeout: 5))
        #expect(f.exchange.uploads(of: Self.partner).map(\.name) == ["report.p7m"], "\(f.exchange.calls)")
        #expect(f.exchange.uploadedContents("report.p7m", of: Self.partner) == report)
    }

    /// lftp removes the real name before renaming its temporary file onto it: a name in `/inbox`
    /// holding nothing is "no such file", unrecorded; removing an upload that is there (this
    /// session's, or an earlier one's) is refused and recorded. A receipt or report stored this
    /// session answers `stat` and accepts its times (rclone sets them after the upload).
    @Test func removingNothingInTheInboxIsNoSuchFileAndRemovingAnUploadIsRefused() throws {
        let f = try SFTPFrontEnd()
        defer { f.stop() }
        try f.dir.write("report.p7m", "a report")
        let r = try f.sftp("-rm /inbox/nothing.p7m\nput report.p7m /inbox/report.p7m\n-rm /inbox/report.p7m\nls -l /inbox/report.p7m")
        #expect(r.succeeded, "\(r.stderr)")
        #expect(r.stderr.contains("remote delete /inbox/nothing.p7m: No such file or directory"), "\(r.stderr)")
        #expect(r.stderr.contains("remote delete /inbox/report.p7m: Permission denied"), "\(r.stderr)")
        #expect(r.stdout.contains(" 8 "), "the stored upload's size: \(r.stdout)")
        #expect(f.exchange.refusals.map(\.subject) == ["remove /inbox/report.p7m"], "\(f.exchange.refusals)")
    }
}
