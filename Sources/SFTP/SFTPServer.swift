import CLibSSH
import ClaimGateCore
import Foundation
import Logging
import ServiceLifecycle

/// The partners' SFTP server (libssh 0.10): public-key logins as the partner id, a virtual tree
/// per partner, every decision taken and recorded through a `PartnerExchange`.
///
/// libssh is blocking: the listener and every session run on their own threads, never on the
/// Swift concurrency pool.
public final class SFTPServer: Service, @unchecked Sendable {
    public struct Configuration: Sendable {
        /// Address to listen on (default 127.0.0.1).
        public var host: String = "127.0.0.1"
        /// Port to listen on; 0 picks a free one (see `boundPort`). Default 2222.
        public var port: Int = 2222
        /// The gateway's SSH host private key (OpenSSH format).
        public var hostKeyPath: String
        /// Sessions beyond this are refused at once. Default 256.
        public var maxSessions: Int = 256
        /// Largest accepted upload. Default 512 MiB.
        public var maxUploadBytes: Int64 = 512 << 20
        /// A session that has not authenticated by then is closed. Default 60 s.
        public var loginGraceSeconds: Int = 60

        public init(hostKeyPath: String) { self.hostKeyPath = hostKeyPath }
    }

    public let configuration: Configuration
    let exchange: any PartnerExchange
    let logger: Logger

    private let lock = NSLock()
    private var bind: ssh_bind?
    private var listener: Thread?
    private var stopping = false
    private var sessions: [ObjectIdentifier: SFTPSession] = [:]
    private let listenerDone = DispatchSemaphore(value: 0)
    private var _boundPort = 0

    public init(configuration: Configuration, exchange: any PartnerExchange, logger: Logger) {
        self.configuration = configuration
        self.exchange = exchange
        self.logger = logger
    }

    /// The port the server listens on, once started.
    public var boundPort: Int { lock.withLock { _boundPort } }

    /// Binds and starts accepting sessions on a listener thread.
    public func start() throws {
        ssh_init()
        guard let b = ssh_bind_new() else { throw SFTPServerError("Out of memory.") }
        var no: Int32 = 0
        ssh_bind_options_set(b, SSH_BIND_OPTIONS_PROCESS_CONFIG, &no)   // no /etc/libssh config
        ssh_bind_options_set(b, SSH_BIND_OPTIONS_BINDADDR, configuration.host)
        ssh_bind_options_set(b, SSH_BIND_OPTIONS_BINDPORT_STR, String(configuration.port))
        guard ssh_bind_options_set(b, SSH_BIND_OPTIONS_HOSTKEY, configuration.hostKeyPath) == SSH_OK else {
            ssh_bind_free(b)
            throw SFTPServerError("Cannot load the SSH host key \(configuration.hostKeyPath): run `claimgate init`.")
        }
        guard ssh_bind_listen(b) == SSH_OK else {
            let why = String(cString: ssh_get_error(UnsafeMutableRawPointer(b)))
            ssh_bind_free(b)
            throw SFTPServerError("Cannot listen for SFTP on \(configuration.host):\(configuration.port): \(why). Is the port in use?")
        }
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(ssh_bind_get_fd(b), $0, &len) }
        }
        lock.withLock {
            bind = b
            _boundPort = Int(UInt16(bigEndian: addr.sin_port))
        }
        let t = Thread { [self] in acceptLoop() }
        t.name = "claimgate-sftp-listener"
        listener = t
        t.start()
        logger.info("sftp listening", metadata: ["address": "\(configuration.host):\(boundPort)"])
    }

    private func acceptLoop() {
        defer { listenerDone.signal() }
        guard let b = lock.withLock({ bind }) else { return }
        let fd = ssh_bind_get_fd(b)
        while !lock.withLock({ stopping }) {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 200) > 0 else { continue }
            guard let session = ssh_new() else { continue }
            guard ssh_bind_accept(b, session) == SSH_OK else { ssh_free(session); continue }
            let s = SFTPSession(session: session, server: self)
            let admitted: Bool = lock.withLock {
                guard !stopping, sessions.count < configuration.maxSessions else { return false }
                sessions[ObjectIdentifier(s)] = s
                return true
            }
            guard admitted else {
                logger.info("sftp session refused: too many sessions")
                s.close()
                continue
            }
            let t = Thread { [self] in
                s.run()
                _ = lock.withLock { sessions.removeValue(forKey: ObjectIdentifier(s)) }
            }
            t.name = "claimgate-sftp-session"
            t.stackSize = 1 << 20
            t.start()
        }
    }

    /// Stops accepting, asks open sessions to end, and waits up to `timeout` seconds for them.
    public func stop(timeout: Double = 10) {
        let (b, open): (ssh_bind?, [SFTPSession]) = lock.withLock {
            guard !stopping else { return (nil, []) }
            stopping = true
            return (bind, Array(sessions.values))
        }
        guard let b else { return }
        listenerDone.wait()
        ssh_bind_free(b)
        open.forEach { $0.interrupt() }
        let deadline = Date().addingTimeInterval(timeout)
        while lock.withLock({ !sessions.isEmpty }), Date() < deadline { usleep(20_000) }
        logger.info("sftp stopped")
    }

    /// Number of sessions open now.
    public var sessionCount: Int { lock.withLock { sessions.count } }

    // MARK: Service

    public func run() async throws {
        try start()
        try? await gracefulShutdown()
        stop()
    }
}

/// An error starting the SFTP server.
public struct SFTPServerError: Error, CustomStringConvertible {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}
