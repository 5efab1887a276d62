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
        /// Connections that may be in key exchange or login at once; more wait their turn (up to
        /// the login grace), so idle or slow unauthenticated clients cannot take every slot.
        /// Default 32.
        public var maxUnauthenticated: Int = 32
        /// The same, per client IP address: one address cannot hold the others out. Default 8.
        public var maxUnauthenticatedPerAddress: Int = 8
        /// A session that has not authenticated by then is closed. Default 30 s.
        public var loginGraceSeconds: Int = 30

        public init(hostKeyPath: String) { self.hostKeyPath = hostKeyPath }
    }

    public let configuration: Configuration
    let exchange: any PartnerExchange
    let logger: Logger

    private let lock = NSCondition()
    /// Refused logins: recorded one by one up to a burst per minute, then only counted, so a
    /// flood of failed logins cannot fill the disk or the commit queue.
    private let loginRefusals: ThrottledRefusals
    private var bind: ssh_bind?
    private var listener: Thread?
    private var stopping = false
    private var sessions: [ObjectIdentifier: SFTPSession] = [:]
    /// Sessions not logged in yet, with their client IP address.
    private var unauthenticated: [ObjectIdentifier: String] = [:]
    private let listenerDone = DispatchSemaphore(value: 0)
    private var _boundPort = 0

    public init(configuration: Configuration, exchange: any PartnerExchange, logger: Logger) {
        self.configuration = configuration
        self.exchange = exchange
        self.logger = logger
        loginRefusals = ThrottledRefusals(summary: { s in
            TransferEvent(time: s.until, actor: .system, action: .loginRefused, outcome: .refused,
                          reason: EventReason(.loginFlood, "\(s.count) more refused logins from \(Timestamp.format(s.from)) to \(Timestamp.format(s.until)), counted, not recorded one by one"),
                          transport: .sftp)
        }, record: { event in
            do { try exchange.record(event) } catch { logger.error("recording an event failed", metadata: ["action": "login-refused"]) }
        })
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
            loginRefusals.recordDue()
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
                logger.info("sftp connection refused: too many sessions", metadata: ["client.address": "\(s.clientIP)"])
                s.close()
                continue
            }
            let t = Thread { [self] in
                s.run()
                lock.withLock {
                    sessions[ObjectIdentifier(s)] = nil
                    unauthenticated[ObjectIdentifier(s)] = nil
                    lock.broadcast()
                }
            }
            t.name = "claimgate-sftp-session"
            t.stackSize = 1 << 20
            t.start()
        }
    }

    /// A login was refused: `event` is recorded, or only counted while refusals flood in (the
    /// count is recorded when the minute is over, or at stop). Blocking: a durable write.
    func loginRefused(_ event: TransferEvent) {
        if loginRefusals.refused(event) != nil {
            logger.warning("many SFTP logins refused: counting the rest of this minute instead of recording each")
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
        loginRefusals.drain()
        logger.info("sftp stopped")
    }

    /// Waits until the session may start key exchange and login: fewer than
    /// `maxUnauthenticated` sessions in that phase overall and fewer than
    /// `maxUnauthenticatedPerAddress` from its address. Returns false when the login grace ran
    /// out first or the server is stopping.
    func waitForLoginSlot(_ s: SFTPSession) -> Bool {
        let deadline = Date().addingTimeInterval(TimeInterval(configuration.loginGraceSeconds))
        lock.lock()
        defer { lock.unlock() }
        while true {
            if stopping { return false }
            let fromSameAddress = unauthenticated.values.filter { $0 == s.clientIP }.count
            if unauthenticated.count < configuration.maxUnauthenticated, fromSameAddress < configuration.maxUnauthenticatedPerAddress {
                unauthenticated[ObjectIdentifier(s)] = s.clientIP
                return true
            }
            // Short waits, with the deadline checked here: a broadcast wakes us sooner.
            _ = lock.wait(until: Date().addingTimeInterval(0.1))
            if Date() >= deadline {
                logger.info("sftp connection dropped: no login slot within the grace period", metadata: ["client.address": "\(s.clientIP)"])
                return false
            }
        }
    }

    /// A session logged in: it no longer counts against the login limits.
    func authenticated(_ s: SFTPSession) {
        lock.withLock {
            unauthenticated[ObjectIdentifier(s)] = nil
            lock.broadcast()
        }
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
