import ClaimGateCore
import ClaimGateTesting
import Foundation
import Logging
import SFTP
import Testing

/// `SFTPServer` on 127.0.0.1 (port 0) with a host key generated for the test, serving a
/// `FakeExchange`, and a partner whose key `ssh-keygen` made for the test; driven by stock
/// OpenSSH `sftp -b` with the host key pinned in `known_hosts`. Call `stop()` when done.
final class SFTPFrontEnd {
    static let partner = try! PartnerID("acme-assessors")

    let exchange: FakeExchange
    let dir: TemporaryDirectory
    let server: SFTPServer

    /// - Parameter exchange: the exchange the server talks to; the partner's key is allowed on it.
    init(exchange: FakeExchange = FakeExchange()) throws {
        self.exchange = exchange
        dir = TemporaryDirectory("claimgate-sftp-front-end")
        let hostKey = try SSHKeyPair.generateEd25519(privatePath: dir.file("host_ed25519"), comment: "claimgate-test-host")
        exchange.allowSSHKey(try Self.keygen(dir.file("partner_ed25519")), for: Self.partner)
        var configuration = SFTPServer.Configuration(hostKeyPath: dir.file("host_ed25519"))
        configuration.host = "127.0.0.1"
        configuration.port = 0
        var logger = Logger(label: "claimgate.test.sftp")
        logger.logLevel = .warning
        server = SFTPServer(configuration: configuration, exchange: exchange, logger: logger)
        try server.start()
        try dir.write("known_hosts", "[127.0.0.1]:\(server.boundPort) \(hostKey.description)\n")
    }

    func stop() { server.stop(timeout: 5) }

    /// Whether the server has no session open, within `timeout` seconds (a session's thread
    /// finishes just after the client sees its connection close).
    func sessionsEnd(timeout: Double = 2) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while server.sessionCount > 0, Date() < deadline { usleep(10_000) }
        return server.sessionCount == 0
    }

    /// Makes an Ed25519 key with the stock `ssh-keygen` and returns its public line.
    static func keygen(_ path: String) throws -> String {
        let r = try Shell.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ops@test", "-f", path])
        try #require(r.succeeded, "ssh-keygen: \(r.stderr)")
        return try String(contentsOfFile: path + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Stock `sftp -b` running `batch` as `user` with `key` (default: the partner's), from the
    /// test folder (local names are files there).
    func sftp(_ batch: String, user: String = SFTPFrontEnd.partner.rawValue, key: String? = nil) throws -> Shell.Result {
        let file = try dir.write("batch-\(UUID().uuidString.prefix(8))", batch + "\n")
        return try Shell.run(["sftp", "-b", file, "-P", String(server.boundPort), "-i", key ?? dir.file("partner_ed25519"),
                              "-o", "UserKnownHostsFile=\(dir.file("known_hosts"))", "-o", "StrictHostKeyChecking=yes",
                              "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10",
                              "\(user)@127.0.0.1"], directory: dir.path)
    }
}
