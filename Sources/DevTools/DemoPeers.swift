import ClaimGateApp
import Operations
import ClaimGateCore
import Foundation
import Logging
import SFTP

/// The real peers `claimgate demo` uses when the machine has them: the stock OpenSSH `sftp`
/// client for a partner's pull, and a local OpenSSH `sshd` as an assessor's push target.
public enum DemoPeers {
    static func executable(_ name: String, in dirs: [String] = ["/usr/bin", "/usr/sbin", "/bin", "/usr/local/bin"]) -> String? {
        dirs.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Pulls `/outbox/<name>` as `partner` with the stock `sftp` client, or with libssh when
    /// `sftp` is not installed. Returns a description of the client used.
    static func pull(name: String, partner: PartnerID, port: Int, hostKey: SSHPublicKey, hostKeyPin: String,
                     partnerKey: String, into local: String, scratch: String) throws -> String {
        if let sftp = executable("sftp") {
            let known = scratch + "/known_hosts"
            try FileSystem.writeAtomically(Data("[127.0.0.1]:\(port) \(hostKey.description)\n".utf8), to: known, replace: true)
            let batch = scratch + "/pull.batch"
            try FileSystem.writeAtomically(Data("get /outbox/\(name) \(local)\n".utf8), to: batch, replace: true)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: sftp)
            p.arguments = ["-q", "-b", batch, "-P", String(port), "-i", partnerKey, "-o", "UserKnownHostsFile=\(known)",
                           "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                           "\(partner)@127.0.0.1"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else {
                throw ClaimGateError(.io, "The stock sftp client could not pull /outbox/\(name) (exit \(p.terminationStatus)).")
            }
            return "stock OpenSSH sftp"
        }
        do {
            let c = try SFTPConnection(host: "127.0.0.1", port: port, user: partner.rawValue, hostKeyPin: hostKeyPin,
                                       clientKeyPath: partnerKey)
            try c.download("/outbox/" + name, to: local)
        } catch let e as PushError { throw ClaimGateError(.io, e.message) }
        return "libssh client (stock sftp not installed)"
    }

    /// Starts a program in the background (posix_spawn: Foundation's Process would block later
    /// runs while this child lives), stdout and stderr to `log`.
    static func spawn(_ args: [String], log: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        guard posix_spawn(&child, args[0], &actions, nil, argv, environ) == 0 else {
            throw ClaimGateError(.io, "\(args[0]) did not start.")
        }
        return child
    }

    /// Stops a spawned program by PID and reaps it.
    static func terminate(_ pid: pid_t) {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    /// Runs a short-lived program and returns its exit status and standard output.
    static func run(_ args: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: args[0])
        p.arguments = Array(args.dropFirst())
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// `claimgate serve` of this very binary on free loopback ports, for a partner's HTTPS pull.
    final class LocalServe {
        let pid: pid_t
        let httpsPort: Int

        static func start(home: String, log: String) -> LocalServe? {
            guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
            guard let pid = try? DemoPeers.spawn([exe, "serve", "--home", home, "--sftp", "127.0.0.1:0", "--https", "127.0.0.1:0",
                                                  "--admin", "127.0.0.1:0"], log: log) else { return nil }
            for _ in 0..<200 {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                if let r = text.range(of: "https: listening on 127.0.0.1:") {
                    let port = Int(text[r.upperBound...].prefix { $0.isNumber }) ?? 0
                    return LocalServe(pid: pid, httpsPort: port)
                }
                usleep(50_000)
            }
            DemoPeers.terminate(pid)
            return nil
        }

        private init(pid: pid_t, httpsPort: Int) { self.pid = pid; self.httpsPort = httpsPort }
        func stop() { DemoPeers.terminate(pid) }
    }

    /// A local OpenSSH sshd serving internal-sftp, started with posix_spawn and stopped by PID.
    public final class LocalSSHD {
        let dir: String
        let port: Int
        let pin: String
        private let pid: pid_t

        /// Starts sshd if the machine has it and allows it (root); returns nil otherwise.
        static func start(in dir: String, authorizedKey: String) -> LocalSSHD? {
            guard getuid() == 0, let sshd = executable("sshd"), let keygen = executable("ssh-keygen") else { return nil }
            return try? LocalSSHD(sshd: sshd, keygen: keygen, dir: dir, authorizedKey: authorizedKey)
        }

        private init(sshd: String, keygen: String, dir: String, authorizedKey: String) throws {
            self.dir = dir
            try FileSystem.makeDirectory(dir + "/inbound", mode: 0o700)
            try? FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
            let hostKey = try SSHKeyPair.generateEd25519(privatePath: dir + "/host_ed25519", comment: "demo-sshd")
            pin = hostKey.fingerprint
            port = try LoopbackPort.free()
            try FileSystem.writeAtomically(Data((authorizedKey + "\n").utf8), to: dir + "/authorized_keys", replace: true)
            try FileSystem.writeAtomically(Data(Self.configuration(port: port, folder: dir).utf8), to: dir + "/sshd_config", replace: true)
            pid = try DemoPeers.spawn([sshd, "-f", dir + "/sshd_config", "-D", "-e"], log: dir + "/sshd.log")
            for _ in 0..<100 where !LoopbackPort.isListening(port) { usleep(50_000) }
            guard LoopbackPort.isListening(port) else { stop(); throw ClaimGateError(.io, "sshd did not start.") }
        }

        func stop() { DemoPeers.terminate(pid) }

        /// sshd_config for a local sshd serving only internal-sftp on 127.0.0.1 from `folder`
        /// (host key `host_ed25519`, `authorized_keys`, pid file), logins as root by key only.
        public static func configuration(port: Int, folder: String) -> String {
            """
            ListenAddress 127.0.0.1:\(port)
            HostKey \(folder)/host_ed25519
            PidFile \(folder)/sshd.pid
            AuthorizedKeysFile \(folder)/authorized_keys
            StrictModes no
            PermitRootLogin prohibit-password
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            AllowTcpForwarding no
            X11Forwarding no
            MaxStartups 100:30:200
            Subsystem sftp internal-sftp
            ForceCommand internal-sftp

            """
        }
    }
}
