import ClaimGateApp
import Operations
import DevTools
import Foundation

/// A stock OpenSSH sshd serving `internal-sftp` on a free 127.0.0.1 port, in its own folder,
/// with its own host key and authorized keys (see shared/PEERS.md). Stopped by PID.
public final class OpenSSHServer: @unchecked Sendable {
    public let dir: TemporaryDirectory
    public let port: Int
    public private(set) var server: ServerProcess?

    /// The pin of this server's host key, `SHA256:…` as `ssh-keygen -lf` prints it.
    public let hostKeyPin: String

    /// - Parameter authorizedKeys: the public key lines allowed to log in (as root).
    public init(authorizedKeys: [String]) throws {
        dir = TemporaryDirectory("claimgate-sshd")
        port = try FreePort.find()
        try Shell.run(["mkdir", "-p", "/run/sshd"])
        let keygen = try Shell.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir.file("host_ed25519")])
        guard keygen.succeeded else { throw ServerProcess.ServerError(message: "ssh-keygen: \(keygen.stderr)") }
        hostKeyPin = try Shell.bash("ssh-keygen -lf '\(dir.file("host_ed25519.pub"))' | awk '{print $2}'")
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try dir.write("authorized_keys", authorizedKeys.joined(separator: "\n") + "\n")
        try FileManager.default.createDirectory(atPath: dir.file("inbound"), withIntermediateDirectories: true)
        try dir.write("sshd_config", DemoPeers.LocalSSHD.configuration(port: port, folder: dir.path))
    }

    /// The folder pushes go to.
    public var inbound: String { dir.file("inbound") }

    public func start() throws {
        let s = try ServerProcess(["/usr/sbin/sshd", "-f", dir.file("sshd_config"), "-D", "-e"], logPath: dir.file("sshd.log"))
        server = s
        // Ready when the port accepts connections.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if FreePort.isListening(port) { return }
            usleep(50_000)
        }
        throw ServerProcess.ServerError(message: "sshd did not start: \(s.text)")
    }

    public func stop() {
        server?.stop()
        server = nil
    }

    deinit { stop() }
}

/// Free TCP ports on 127.0.0.1 (the gateway's own helper).
public typealias FreePort = LoopbackPortForTests

public enum LoopbackPortForTests {
    public static func find() throws -> Int { try LoopbackPort.free() }
    public static func isListening(_ port: Int) -> Bool { LoopbackPort.isListening(port) }
}
