import ClaimGateCore
import Foundation
import Logging
import SFTP

/// The real peers `claimgate demo` uses when the machine has them: the stock OpenSSH `sftp`
/// client for a partner's pull, and a local OpenSSH `sshd` as an assessor's push target.
enum DemoPeers {
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

    /// A local OpenSSH sshd serving internal-sftp, started with posix_spawn and stopped by PID.
    final class LocalSSHD {
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
            try FileSystem.writeAtomically(Data("""
                ListenAddress 127.0.0.1:\(port)
                HostKey \(dir)/host_ed25519
                PidFile \(dir)/sshd.pid
                AuthorizedKeysFile \(dir)/authorized_keys
                StrictModes no
                PermitRootLogin prohibit-password
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                UsePAM no
                AllowTcpForwarding no
                X11Forwarding no
                Subsystem sftp internal-sftp
                ForceCommand internal-sftp

                """.utf8), to: dir + "/sshd_config", replace: true)
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, dir + "/sshd.log", O_WRONLY | O_CREAT | O_APPEND, 0o600)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
            let args: [String] = [sshd, "-f", dir + "/sshd_config", "-D", "-e"]
            let argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
            defer { argv.forEach { free($0) } }
            var child: pid_t = 0
            guard posix_spawn(&child, sshd, &actions, nil, argv, environ) == 0 else {
                throw ClaimGateError(.io, "sshd did not start.")
            }
            pid = child
            for _ in 0..<100 where !LoopbackPort.isListening(port) { usleep(50_000) }
            guard LoopbackPort.isListening(port) else { stop(); throw ClaimGateError(.io, "sshd did not start.") }
        }

        func stop() {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }
}
