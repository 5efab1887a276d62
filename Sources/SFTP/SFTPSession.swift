import CLibSSH
import ClaimGateCore
import Foundation
import Logging

/// One partner's SSH connection: key exchange, public-key authentication, one session channel
/// with the `sftp` subsystem, then the SFTP request loop over the partner's virtual tree.
/// Runs on its own thread; owns its libssh handles.
final class SFTPSession: @unchecked Sendable {
    private let ssh: ssh_session
    private unowned let server: SFTPServer
    private var exchange: any PartnerExchange { server.exchange }
    private var logger: Logger
    private let origin: SessionOrigin
    /// The partner's session, once logged in; every request revalidates it.
    private var session: PartnerSession?
    private var lastRefusal: Refusal?
    /// The user name of the last login attempt, for the refusal record.
    private var attemptedUser: String?
    private var lastPolicyCheck = Date.distantPast
    private var handles: [Int: OpenHandle] = [:]
    /// Uploads closed under a temporary name (`TemporaryUploadName`), waiting for their rename.
    private var held: [String: any StagedUpload] = [:]
    /// Uploads stored in this session (reports and receipts alike), by name: clients stat the
    /// name and set its times right after the upload, and a receipt is not listed as a report.
    private var stored: [String: (bytes: Int64, at: Date)] = [:]
    /// Session channels a client opened beside its SFTP channel (every request on them refused).
    private var extraChannels: [ssh_channel] = []
    /// When each handle was opened, for its access line.
    private var opened: [Int: ContinuousClock.Instant] = [:]
    /// When the request being handled arrived.
    private var requestStarted = ContinuousClock.now
    private var nextHandle = 1
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 64)

    init(session: ssh_session, server: SFTPServer) {
        self.ssh = session
        self.server = server
        self.logger = server.logger
        origin = SessionOrigin(transport: .sftp, clientAddress: Self.peerAddress(ssh_get_fd(ssh)))
        logger[metadataKey: "client.address"] = "\(origin.clientAddress)"
    }

    deinit {
        buffer.deallocate()
        ssh_free(ssh)
    }

    /// The client's IP address (without the port).
    var clientIP: String { String(origin.clientAddress.prefix { $0 != ":" }) }

    /// Ends a session the server refuses to serve.
    func close() { ssh_disconnect(ssh) }

    /// Called from another thread at shutdown: breaks the blocking read so `run` returns.
    func interrupt() { shutdown(ssh_get_fd(ssh), Int32(SHUT_RDWR)) }

    func run() {
        defer {
            closeAllHandles()
            ssh_disconnect(ssh)
        }
        guard server.waitForLoginSlot(self) else { return }
        var one: Int32 = 1
        ssh_options_set(ssh, SSH_OPTIONS_NODELAY, &one)
        var grace = Int(server.configuration.loginGraceSeconds)
        ssh_options_set(ssh, SSH_OPTIONS_TIMEOUT, &grace)
        guard ssh_handle_key_exchange(ssh) == SSH_OK else {
            logger.info("sftp key exchange failed", metadata: ["error": "\(String(cString: ssh_get_error(UnsafeMutableRawPointer(ssh))))"])
            return
        }
        ssh_set_auth_methods(ssh, Int32(SSH_AUTH_METHOD_PUBLICKEY))
        guard let channel = negotiate() else {
            if session == nil {
                // The user name tried is the subject; the refusal names a partner only when the
                // key proved who it was (a suspended or removed partner, a withdrawn transport).
                let code = lastRefusal.map { EventReason.Code($0.reason) } ?? EventReason.Code(.noKey)
                let partner = lastRefusal?.partner
                server.loginRefused(TransferEvent(time: Date(), actor: partner.map { .partner($0) } ?? .system, action: .loginRefused,
                                                  outcome: .refused, partnerID: partner,
                                                  reason: EventReason(code, attemptedUser.map { String($0.prefix(64)) }),
                                                  transport: .sftp, clientAddress: origin.clientAddress))
            }
            return
        }
        var noTimeout = 0
        ssh_options_set(ssh, SSH_OPTIONS_TIMEOUT, &noTimeout)
        // From here on, libssh hands every other SSH message (a second channel, an exec or a
        // shell, a keepalive) to this callback while the SFTP loop reads: without it they wait
        // in a queue nobody reads, unanswered, and the client hangs (rclone's shell detection,
        // asyncssh's `run` beside SFTP, a ControlMaster reusing the connection).
        ssh_set_message_callback(ssh, { _, msg, data in
            guard let msg, let data else { return 1 }
            return Unmanaged<SFTPSession>.fromOpaque(data).takeUnretainedValue().answerDuringSFTP(msg)
        }, Unmanaged.passUnretained(self).toOpaque())
        serveSFTP(channel)
        ssh_set_message_callback(ssh, nil, nil)
        closeCleanly(channel)
        for extra in extraChannels { ssh_channel_free(extra) }
        extraChannels = []
    }

    /// Answers an SSH message that arrives beside the SFTP channel. A second session channel is
    /// opened (clients probe with one, and some treat a refused channel as a broken connection)
    /// and every command, shell or subsystem asked for on it is refused and recorded; forwarding
    /// is refused and recorded; keepalives, `env`, `pty` and the like are refused without a
    /// record, as OpenSSH's clients expect.
    /// - Returns: 1 for libssh to send its default refusal, 0 when answered here.
    private func answerDuringSFTP(_ msg: ssh_message) -> Int32 {
        let type = ssh_message_type(msg), sub = ssh_message_subtype(msg)
        switch type {
        case Int32(SSH_REQUEST_CHANNEL_OPEN.rawValue) where sub == Int32(SSH_CHANNEL_SESSION.rawValue) && extraChannels.count < 8:
            guard let c = ssh_message_channel_request_open_reply_accept(msg) else { return 1 }
            extraChannels.append(c)
            return 0
        case Int32(SSH_REQUEST_CHANNEL_OPEN.rawValue):
            recordRefusal(sub == Int32(SSH_CHANNEL_SESSION.rawValue) ? "channel" : "forwarding")
        case Int32(SSH_REQUEST_CHANNEL.rawValue) where sub == Int32(SSH_CHANNEL_REQUEST_EXEC.rawValue):
            return refuseAndClose(msg, "exec")
        case Int32(SSH_REQUEST_CHANNEL.rawValue) where sub == Int32(SSH_CHANNEL_REQUEST_SHELL.rawValue):
            return refuseAndClose(msg, "shell")
        case Int32(SSH_REQUEST_CHANNEL.rawValue) where sub == Int32(SSH_CHANNEL_REQUEST_SUBSYSTEM.rawValue):
            return refuseAndClose(msg, "subsystem")
        default:
            break
        }
        return 1
    }

    /// Refuses (and records) a command, shell or subsystem asked for on a channel beside the SFTP
    /// one, then closes that channel, as a client waiting for it to end expects (OpenSSH's
    /// `ssh` over a shared connection waits for the close after a failed exec).
    private func refuseAndClose(_ msg: ssh_message, _ what: String) -> Int32 {
        recordRefusal(what)
        guard let c = ssh_message_channel_request_channel(msg), extraChannels.contains(c) else { return 1 }
        ssh_message_reply_default(msg)   // one refusal: libssh sends none for a message answered here
        ssh_channel_request_send_exit_status(c, 1)
        ssh_channel_send_eof(c)
        ssh_channel_close(c)
        return 0
    }

    /// Ends the SFTP channel as OpenSSH's server does (exit status 0, EOF, close) and waits
    /// briefly for the client to close the connection itself, instead of racing it with a
    /// disconnect (rclone then reports `use of closed network connection` and exits 5).
    private func closeCleanly(_ channel: ssh_channel) {
        if ssh_channel_is_open(channel) != 0 {
            ssh_channel_request_send_exit_status(channel, 0)
            ssh_channel_send_eof(channel)
            ssh_channel_close(channel)
        }
        let deadline = ContinuousClock.now + .seconds(2)
        while ssh_is_connected(ssh) != 0, ContinuousClock.now < deadline {
            var fd = pollfd(fd: ssh_get_fd(ssh), events: Int16(POLLIN), revents: 0)
            guard poll(&fd, 1, 100) >= 0 else { break }
            if fd.revents & Int16(POLLHUP | POLLERR) != 0 { break }
            if fd.revents & Int16(POLLIN) != 0 {
                // Let libssh read what came (the client's channel close, its disconnect); a
                // closed connection ends the wait.
                var peek: UInt8 = 0
                if recv(fd.fd, &peek, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) == 0 { break }
                if ssh_channel_poll_timeout(channel, 0, 0) == SSH_ERROR { break }
            }
        }
    }

    // MARK: Authentication and channel set-up

    /// Runs the SSH message loop until the sftp subsystem is requested on an authenticated
    /// session channel. Everything else (passwords, shells, exec, forwarding) is refused.
    private func negotiate() -> ssh_channel? {
        var channel: ssh_channel?
        var attempts = 0
        while let msg = ssh_message_get(ssh) {
            defer { ssh_message_free(msg) }
            let type = ssh_message_type(msg), sub = ssh_message_subtype(msg)
            switch (type, session) {
            case (Int32(SSH_REQUEST_AUTH.rawValue), nil):
                attempts += 1
                if attempts > 20 { return nil }
                if sub == SSH_AUTH_METHOD_PUBLICKEY, authenticate(msg) { continue }
                ssh_message_auth_set_methods(msg, Int32(SSH_AUTH_METHOD_PUBLICKEY))
                ssh_message_reply_default(msg)
            case (Int32(SSH_REQUEST_CHANNEL_OPEN.rawValue), .some) where sub == Int32(SSH_CHANNEL_SESSION.rawValue) && channel == nil:
                channel = ssh_message_channel_request_open_reply_accept(msg)
            case (Int32(SSH_REQUEST_CHANNEL.rawValue), .some) where sub == Int32(SSH_CHANNEL_REQUEST_SUBSYSTEM.rawValue):
                if let c = channel, String(cString: ssh_message_channel_request_subsystem(msg)) == "sftp" {
                    ssh_message_channel_request_reply_success(msg)
                    return c
                }
                refuse(msg, "subsystem")
            case (Int32(SSH_REQUEST_CHANNEL.rawValue), .some) where sub == Int32(SSH_CHANNEL_REQUEST_EXEC.rawValue):
                refuse(msg, "exec")
            case (Int32(SSH_REQUEST_CHANNEL.rawValue), .some) where sub == Int32(SSH_CHANNEL_REQUEST_SHELL.rawValue):
                refuse(msg, "shell")
            case (Int32(SSH_REQUEST_CHANNEL_OPEN.rawValue), .some) where sub != Int32(SSH_CHANNEL_SESSION.rawValue):
                refuse(msg, "forwarding")
            case (Int32(SSH_REQUEST_GLOBAL.rawValue), .some):
                refuse(msg, "global-request")
            default:
                ssh_message_reply_default(msg)   // pty, env, agent, x11…: refused silently
            }
        }
        return nil
    }

    /// Handles one public-key request: a probe is answered "key acceptable" when the key is in the
    /// partner's agreement; a signed request (libssh has checked the signature) logs the partner in.
    private func authenticate(_ msg: ssh_message) -> Bool {
        guard let userC = ssh_message_auth_user(msg), let key = ssh_message_auth_pubkey(msg),
              let line = Self.keyLine(key) else { return false }
        let user = String(cString: userC)
        attemptedUser = user
        switch exchange.openSession(.sshKey(user: user, key: line), origin: origin) {
        case .failure(let refusal):
            // A refusal names the partner (suspended, removed, transport withdrawn) only once the
            // client proved it holds the key: public keys are not secret, so a probe or a bad
            // signature with a partner's key proves nothing about who tried. The probe is
            // answered "key acceptable" so that the client signs, and the signed request is the
            // one refused and attributed.
            switch (ssh_message_auth_publickey_state(msg), refusal.partner) {
            case (SSH_PUBLICKEY_STATE_NONE, .some):
                lastRefusal = refusal.of(nil)
                ssh_message_auth_reply_pk_ok_simple(msg)
                return true
            case (SSH_PUBLICKEY_STATE_VALID, _):
                lastRefusal = refusal
            default:
                lastRefusal = refusal.of(nil)
            }
            return false
        case .success(let opened):
            switch ssh_message_auth_publickey_state(msg) {
            case SSH_PUBLICKEY_STATE_NONE:
                ssh_message_auth_reply_pk_ok_simple(msg)
                return true
            case SSH_PUBLICKEY_STATE_VALID:
                // No session without its entry: if the audit trail cannot be written, the login fails.
                do { try exchange.recordLogin(opened) } catch {
                    logger.error("audit trail unavailable: login refused", metadata: ["error": "\(error)"])
                    lastRefusal = Refusal(.auditUnavailable, "the audit trail cannot be written")
                    return false
                }
                session = opened
                server.authenticated(self)
                logger[metadataKey: "partner.id"] = "\(opened.partner)"
                exchange.accessed(AccessRecord(transport: .sftp, partner: opened.partner, clientAddress: origin.clientAddress,
                                               operation: .login, request: "publickey", status: "ok", duration: .zero))
                ssh_message_auth_reply_success(msg, 0)
                return true
            default:
                lastRefusal = Refusal(.unknownKey, "bad signature")
                return false
            }
        }
    }

    private func refuse(_ msg: ssh_message, _ what: String) {
        recordRefusal(what)
        ssh_message_reply_default(msg)
    }

    /// Records a refused SSH request (the caller, or libssh, sends the refusal: exactly one).
    private func recordRefusal(_ what: String) {
        if let session { exchange.refused(.operationRefused, subject: what, in: session) }
    }

    static func keyLine(_ key: ssh_key) -> String? {
        var b64: UnsafeMutablePointer<CChar>?
        guard ssh_pki_export_pubkey_base64(key, &b64) == SSH_OK, let b64 else { return nil }
        defer { ssh_string_free_char(b64) }
        guard let type = ssh_key_type_to_char(ssh_key_type(key)) else { return nil }
        return String(cString: type) + " " + String(cString: b64)
    }

    // MARK: SFTP

    private enum OpenHandle {
        case directory([DirectoryEntry], sent: Bool)
        case download(fd: Int32, entry: OutboxEntry, coverage: ByteCoverage, bytes: Int64)
        case upload(any StagedUpload)
    }

    private struct DirectoryEntry {
        let name: String
        let isDirectory: Bool
        let size: Int64
        let modified: Date
        /// `/inbox`: shown writable, so clients that check a folder's mode before uploading do.
        var writable = false
    }

    private func serveSFTP(_ channel: ssh_channel) {
        guard let sftp = sftp_server_new(ssh, channel) else { return }
        defer { sftp_server_free(sftp) }
        guard sftp_server_init(sftp) == 0 else { return }
        while let m = sftp_get_client_message(sftp) {
            handle(m, sftp)
            sftp_client_message_free(m)
        }
    }

    private func handle(_ m: sftp_client_message, _ sftp: sftp_session) {
        requestStarted = .now
        let type = Int32(m.pointee.type)
        // The session rule (agreement in force, partner neither suspended nor removed, key still
        // listed, sftp still under delivery.pull) runs before every request; during a transfer,
        // reads and writes on an open handle are checked at most once a second.
        if type != SSH_FXP_READ && type != SSH_FXP_WRITE || Date().timeIntervalSince(lastPolicyCheck) >= 1 {
            lastPolicyCheck = Date()
            if let session, case .failure(let r) = exchange.revalidate(session) {
                exchange.refused(r.reason, in: session)
                reply(m, refusal: r.reason)
                interrupt()
                return
            }
        }
        switch type {
        case SSH_FXP_REALPATH: realpath(m)
        case SSH_FXP_STAT, SSH_FXP_LSTAT: stat(m)
        case SSH_FXP_OPENDIR: opendir(m, sftp)
        case SSH_FXP_OPEN: open(m, sftp)
        case SSH_FXP_READ, SSH_FXP_READDIR, SSH_FXP_WRITE, SSH_FXP_FSTAT, SSH_FXP_FSETSTAT, SSH_FXP_CLOSE:
            onHandle(m, sftp, type)
        case SSH_FXP_EXTENDED: extended(m, sftp)
        case SSH_FXP_REMOVE: remove(m)
        case SSH_FXP_RENAME: rename(m)
        case SSH_FXP_SYMLINK: denied(m, "symlink")
        case SSH_FXP_READLINK: denied(m, "readlink")
        case SSH_FXP_MKDIR: denied(m, "mkdir")
        case SSH_FXP_RMDIR: denied(m, "rmdir")
        case SSH_FXP_SETSTAT: setstat(m)
        default: sftp_reply_status(m, UInt32(SSH_FX_OP_UNSUPPORTED), "unsupported")
        }
    }

    /// The request's path as the client sent it, or nil when it holds a NUL byte: libssh hands
    /// names over as C strings, so `X.p7m\0.txt` would silently become `X.p7m`. The packet's own
    /// length (after the request id) says how long the name really is.
    private func filename(_ m: sftp_client_message) -> String? {
        guard let c = m.pointee.filename else { return "" }
        let length = strlen(c)
        // Fail closed: a name whose real length cannot be read is refused like one with a NUL.
        guard let whole = m.pointee.complete_message, let base = ssh_buffer_get(whole), ssh_buffer_get_len(whole) >= 8 else {
            return nil
        }
        let p = base.assumingMemoryBound(to: UInt8.self)
        let total = Int(ssh_buffer_get_len(whole))
        func u32(_ at: Int) -> Int? {
            guard at + 4 <= total else { return nil }
            return Int(p[at]) << 24 | Int(p[at + 1]) << 16 | Int(p[at + 2]) << 8 | Int(p[at + 3])
        }
        // After the request id; an extended request's name follows its extension name.
        var at = 4
        if Int32(m.pointee.type) == SSH_FXP_EXTENDED {
            guard let sub = u32(at) else { return nil }
            at += 4 + sub
        }
        guard let declared = u32(at), declared == length else { return nil }
        return String(cString: c)
    }

    /// Parses the message's path; refuses (and records) anything outside the tree.
    private func path(_ m: sftp_client_message, _ op: String) -> VirtualPath? {
        guard let raw = filename(m) else {
            refuse(m, .pathRefused, "\(op): a name with a NUL byte")
            return nil
        }
        switch VirtualPath.parse(raw) {
        case .success(let p): return p
        case .failure:
            refuse(m, .pathRefused, "\(op) \(raw)")
            return nil
        }
    }

    /// Records a refused request and answers it with the status this transport gives `reason`.
    private func refuse(_ m: sftp_client_message, _ reason: Refusal.Reason, _ subject: String?) {
        if let session { exchange.refused(reason, subject: subject, in: session) }
        reply(m, refusal: reason)
    }

    /// Refuses an operation on the request's path: the subject is the operation and the path
    /// (just the operation for requests that carry none, such as extended ones).
    private func denied(_ m: sftp_client_message, _ op: String) {
        let path = filename(m) ?? ""
        refuse(m, .operationRefused, path.isEmpty ? op : "\(op) \(path.prefix(160))")
    }

    /// What a partner sees of a refusal over SFTP: one table, for every request. Details stay in
    /// the audit trail and the server log.
    static func status(for reason: Refusal.Reason) -> (code: Int32, message: String) {
        switch reason {
        case .bundleUnavailable, .bundleExpired:
            return (SSH_FX_NO_SUCH_FILE, "no such file")
        case .uploadTooLarge:
            return (SSH_FX_FAILURE, "upload larger than the gateway accepts")
        case .auditUnavailable:
            return (SSH_FX_FAILURE, "the gateway cannot record this request now; try again later")
        case .partnerSuspended, .partnerRemoved, .agreementEnded, .unknownPartner, .unknownKey, .transportNotAllowed,
             .certificateAmbiguous, .certificateNotForClients, .certificateRevoked, .crlExpired, .crlUnusable:
            return (SSH_FX_PERMISSION_DENIED, "access ended")
        default:
            return (SSH_FX_PERMISSION_DENIED, "permission denied")
        }
    }

    private func reply(_ m: sftp_client_message, refusal reason: Refusal.Reason) {
        let s = Self.status(for: reason)
        sftp_reply_status(m, UInt32(s.code), s.message)
        access(m, status: reason.rawValue)
    }

    /// Reports one SFTP file operation to the access log: a listing, a download or an upload
    /// (from open to close), or a refused request.
    private func access(_ operation: AccessRecord.Operation, _ request: String, bundle: BundleID? = nil, bytes: Int64 = 0,
                        status: String, since start: ContinuousClock.Instant) {
        exchange.accessed(AccessRecord(transport: .sftp, partner: session?.partner, clientAddress: origin.clientAddress,
                                       operation: operation, request: request, bundleID: bundle, bytes: bytes, status: status,
                                       duration: ContinuousClock.now - start))
    }

    /// A request answered at once (a refusal), named by its SFTP type.
    private func access(_ m: sftp_client_message, status: String) {
        let type = Int32(m.pointee.type)
        let writing = Int32(m.pointee.flags) & (SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_TRUNC | SSH_FXF_APPEND) != 0
        let (operation, name): (AccessRecord.Operation, String)
        switch type {
        case SSH_FXP_OPEN: (operation, name) = writing ? (.upload, "open") : (.download, "open")
        case SSH_FXP_OPENDIR: (operation, name) = (.list, "opendir")
        case SSH_FXP_READ: (operation, name) = (.download, "read")
        case SSH_FXP_WRITE: (operation, name) = (.upload, "write")
        case SSH_FXP_CLOSE: (operation, name) = (.other, "close")
        case SSH_FXP_REMOVE: (operation, name) = (.other, "remove")
        case SSH_FXP_RENAME: (operation, name) = (.other, "rename")
        case SSH_FXP_MKDIR: (operation, name) = (.other, "mkdir")
        case SSH_FXP_RMDIR: (operation, name) = (.other, "rmdir")
        case SSH_FXP_SETSTAT: (operation, name) = (.other, "setstat")
        case SSH_FXP_FSETSTAT: (operation, name) = (.other, "fsetstat")
        case SSH_FXP_SYMLINK: (operation, name) = (.other, "symlink")
        case SSH_FXP_READLINK: (operation, name) = (.other, "readlink")
        case SSH_FXP_STAT, SSH_FXP_LSTAT, SSH_FXP_FSTAT: (operation, name) = (.other, "stat")
        case SSH_FXP_EXTENDED: (operation, name) = (.other, "extended")
        default: (operation, name) = (.other, "type-\(type)")
        }
        access(operation, name, status: status, since: requestStarted)
    }

    private func realpath(_ m: sftp_client_message) {
        guard let p = path(m, "realpath") else { return }
        var a = Self.attributes(directory: true, size: 0, modified: Date())
        sftp_reply_names_add(m, p.description, p.description, &a)
        sftp_reply_names(m)
    }

    private func stat(_ m: sftp_client_message) {
        guard let p = path(m, "stat") else { return }
        guard let entry = lookup(p) else {
            sftp_reply_status(m, UInt32(SSH_FX_NO_SUCH_FILE), "no such file")
            return
        }
        var a = Self.attributes(directory: entry.isDirectory, size: entry.size, modified: entry.modified, writable: entry.writable)
        sftp_reply_attr(m, &a)
    }

    /// Times or permissions set on the partner's own upload (open, or stored this session) are
    /// answered OK and change nothing: clients set them after the data went through (rclone's
    /// modification time, asyncssh's `preserve`, WinSCP), and failing then would fail an upload
    /// that was already taken. Anything else is refused.
    private func setstat(_ m: sftp_client_message) {
        guard let p = path(m, "setstat") else { return }
        if case .inboxFile(let name) = p, openUpload(named: name) != nil || held[name] != nil || lookup(p) != nil {
            sftp_reply_status(m, UInt32(SSH_FX_OK), nil)
            return
        }
        refuse(m, .operationRefused, "setstat \(p)")
    }

    /// Nothing is ever removed. A name in `/inbox` that holds nothing is answered "no such file",
    /// unrecorded: clients that upload under a temporary name remove the real name first (lftp's
    /// `xfer:use-temp-file`), and there is nothing there to refuse. Anything else is refused.
    private func remove(_ m: sftp_client_message) {
        guard let p = path(m, "remove") else { return }
        if case .inboxFile = p, lookup(p) == nil {
            sftp_reply_status(m, UInt32(SSH_FX_NO_SUCH_FILE), "no such file")
            return
        }
        denied(m, "remove")
    }

    /// The upload open under `name` in this session, if any.
    private func openUpload(named name: String) -> (any StagedUpload)? {
        for h in handles.values { if case .upload(let u) = h, u.name == name { return u } }
        return nil
    }

    /// What a path refers to now, if anything.
    private func lookup(_ p: VirtualPath) -> DirectoryEntry? {
        guard let session else { return nil }
        switch p {
        case .root, .outbox, .inbox:
            return DirectoryEntry(name: p.description, isDirectory: true, size: 0, modified: Date(), writable: p == .inbox)
        case .outboxFile(let name):
            guard let id = Self.bundleID(name), let e = try? exchange.bundle(id, for: session) else {
                exchange.refused(.bundleUnavailable, subject: String(name.prefix(80)), in: session)
                return nil
            }
            return DirectoryEntry(name: e.name, isDirectory: false, size: e.size, modified: e.created)
        case .inboxFile(let name):
            // An upload still open, or kept under a temporary name, answers for its name (sshfs
            // stats the name right after opening it; clients stat the temporary name before renaming).
            if let open = openUpload(named: name) ?? held[name] {
                return DirectoryEntry(name: name, isDirectory: false, size: open.bytes, modified: Date())
            }
            if let done = stored[name] { return DirectoryEntry(name: name, isDirectory: false, size: done.bytes, modified: done.at) }
            guard let u = (try? exchange.uploads(for: session))?.first(where: { $0.name == name }) else { return nil }
            return DirectoryEntry(name: name, isDirectory: false, size: u.size, modified: u.received)
        }
    }

    /// `<bundle-id>.p7m`, the id in its canonical (lowercase) spelling.
    static func bundleID(_ name: String) -> BundleID? { BundleID(fileName: name) }

    private func opendir(_ m: sftp_client_message, _ sftp: sftp_session) {
        guard let p = path(m, "opendir"), let session else { return }
        let entries: [DirectoryEntry]
        switch p {
        case .root:
            entries = ["outbox", "inbox"].map { DirectoryEntry(name: $0, isDirectory: true, size: 0, modified: Date(), writable: $0 == "inbox") }
        case .outbox:
            // Listed only once recorded: no entry, no listing.
            guard let list = try? exchange.listOutbox(session) else { reply(m, refusal: .auditUnavailable); return }
            entries = list.map { DirectoryEntry(name: $0.name, isDirectory: false, size: $0.size, modified: $0.created) }
        case .inbox:
            // An inbox that cannot be read is a failure, not an empty folder.
            guard let uploads = try? exchange.uploads(for: session) else {
                sftp_reply_status(m, UInt32(SSH_FX_FAILURE), "inbox unavailable; try again later"); return
            }
            entries = uploads.sorted { $0.name < $1.name }
                .map { DirectoryEntry(name: $0.name, isDirectory: false, size: $0.size, modified: $0.received) }
        default:
            sftp_reply_status(m, UInt32(SSH_FX_NO_SUCH_FILE), "not a directory"); return
        }
        reply(handle: .directory(entries, sent: false), m, sftp)
        if p != .root { access(.list, "opendir", bytes: 0, status: "ok", since: requestStarted) }
    }

    private func open(_ m: sftp_client_message, _ sftp: sftp_session) {
        guard let p = path(m, "open"), let session else { return }
        let flags = Int32(m.pointee.flags)
        let writing = flags & (SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_TRUNC | SSH_FXF_APPEND) != 0
        switch p {
        case .outboxFile(let name) where !writing:
            guard let id = Self.bundleID(name) else { refuse(m, .bundleUnavailable, String(name.prefix(80))); return }
            // The availability check and the `started` entry are one transaction: recorded before
            // any byte can be read; no entry, no bytes.
            let start: DownloadStart
            do { start = try exchange.startDownload(id, for: session) { _ in 0 } } catch {
                logger.error("audit trail unavailable: download refused", metadata: ["error": "\(error)"])
                reply(m, refusal: .auditUnavailable)
                return
            }
            guard case .started(let entry, _) = start else { reply(m, refusal: .bundleUnavailable); return }
            let fd = Glibc.open(entry.filePath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else {
                exchange.downloadEnded(entry, for: session, served: ByteCoverage(), bytes: 0)
                sftp_reply_status(m, UInt32(SSH_FX_FAILURE), "cannot open")
                return
            }
            reply(handle: .download(fd: fd, entry: entry, coverage: ByteCoverage(), bytes: 0), m, sftp)
        case .inboxFile(let name) where writing && flags & SSH_FXF_APPEND == 0:
            do {
                reply(handle: .upload(try exchange.beginUpload(named: name, for: session)), m, sftp)
            } catch let r as Refusal {
                reply(m, refusal: r.reason)
            } catch {
                logger.error("an upload could not be created", metadata: ["error": "\(error)"])
                sftp_reply_status(m, UInt32(SSH_FX_FAILURE), "cannot create")
            }
        default:
            // The path is already the parsed one: recorded once, as the operation's object.
            refuse(m, .operationRefused, writing ? "write \(p)" : "read \(p)")
        }
    }

    private func reply(handle h: OpenHandle, _ m: sftp_client_message, _ sftp: sftp_session) {
        let id = nextHandle
        nextHandle += 1
        guard let s = sftp_handle_alloc(sftp, UnsafeMutableRawPointer(bitPattern: id)) else {
            release(h, complete: false)
            sftp_reply_status(m, UInt32(SSH_FX_FAILURE), "too many open handles")
            return
        }
        handles[id] = h
        opened[id] = requestStarted
        sftp_reply_handle(m, s)
        ssh_string_free(s)
    }

    private func onHandle(_ m: sftp_client_message, _ sftp: sftp_session, _ type: Int32) {
        guard let info = sftp_handle(sftp, m.pointee.handle), case let id = Int(bitPattern: info), let h = handles[id] else {
            sftp_reply_status(m, UInt32(SSH_FX_FAILURE), "bad handle")
            return
        }
        switch (type, h) {
        case (SSH_FXP_READ, .download(let fd, let entry, var coverage, let bytes)):
            // An offset past what a file offset can hold is no read of this file (not a crash).
            guard let offset = Int64(exactly: m.pointee.offset) else { sftp_reply_status(m, UInt32(SSH_FX_EOF), "eof"); return }
            let want = min(Int(m.pointee.len), buffer.count)
            let n = pread(fd, buffer.baseAddress, want, off_t(offset))
            if n > 0 {
                sftp_reply_data(m, buffer.baseAddress, Int32(n))
                coverage.add(offset..<offset + Int64(n))
                handles[id] = .download(fd: fd, entry: entry, coverage: coverage, bytes: bytes + Int64(n))
            } else if n == 0 {
                sftp_reply_status(m, UInt32(SSH_FX_EOF), "eof")
            } else {
                sftp_reply_status(m, UInt32(SSH_FX_FAILURE), "read error")
            }
        case (SSH_FXP_WRITE, .upload(let upload)):
            guard let data = m.pointee.data else { sftp_reply_status(m, UInt32(SSH_FX_BAD_MESSAGE), "no data"); return }
            do {
                // An offset no file can have is past any limit: the upload refuses it.
                try upload.write(UnsafeRawBufferPointer(start: ssh_string_data(data), count: Int(ssh_string_len(data))),
                                 at: Int64(exactly: m.pointee.offset) ?? .max)
                sftp_reply_status(m, UInt32(SSH_FX_OK), nil)
            } catch let r as Refusal {
                reply(m, refusal: r.reason)
            } catch {
                sftp_reply_status(m, UInt32(SSH_FX_FAILURE), "write failed")
            }
        case (SSH_FXP_READDIR, .directory(let entries, let sent)):
            if sent || entries.isEmpty {
                sftp_reply_status(m, UInt32(SSH_FX_EOF), nil)
                handles[id] = .directory(entries, sent: true)
                return
            }
            for e in entries {
                var a = Self.attributes(directory: e.isDirectory, size: e.size, modified: e.modified, writable: e.writable)
                sftp_reply_names_add(m, e.name, Self.longName(e), &a)
            }
            sftp_reply_names(m)
            handles[id] = .directory(entries, sent: true)
        case (SSH_FXP_FSTAT, .download(_, let entry, _, _)):
            var a = Self.attributes(directory: false, size: entry.size, modified: entry.created)
            sftp_reply_attr(m, &a)
        case (SSH_FXP_FSTAT, .upload(let upload)):
            var a = Self.attributes(directory: false, size: upload.bytes, modified: Date())
            sftp_reply_attr(m, &a)
        case (SSH_FXP_FSETSTAT, .upload):
            sftp_reply_status(m, UInt32(SSH_FX_OK), nil)   // times and modes are not kept
        case (SSH_FXP_CLOSE, _):
            handles[id] = nil
            sftp_handle_remove(sftp, info)
            if release(h, complete: true, openedAt: opened.removeValue(forKey: id)) {
                sftp_reply_status(m, UInt32(SSH_FX_OK), nil)
            } else {
                sftp_reply_status(m, UInt32(SSH_FX_FAILURE), "the upload could not be stored")
            }
        default:
            denied(m, "handle operation \(type)")
        }
    }

    private func extended(_ m: sftp_client_message, _ sftp: sftp_session) {
        let name = m.pointee.submessage.map { String(cString: $0) } ?? ""
        switch name {
        case "fsync@openssh.com":
            if let info = sftp_handle(sftp, m.pointee.handle), case .upload(let upload)? = handles[Int(bitPattern: info)] {
                sftp_reply_status(m, UInt32((try? upload.sync()) != nil ? SSH_FX_OK : SSH_FX_FAILURE), nil)
            } else {
                sftp_reply_status(m, UInt32(SSH_FX_OK), nil)
            }
        case "posix-rename@openssh.com":
            rename(m)
        case "hardlink@openssh.com":
            denied(m, name)
        default:
            sftp_reply_status(m, UInt32(SSH_FX_OP_UNSUPPORTED), "unsupported")
        }
    }

    /// Closes a handle: records downloads, commits uploads (or discards them when the session
    /// ends first).
    /// - Returns: false when an upload could not be committed.
    @discardableResult
    private func release(_ h: OpenHandle, complete: Bool, openedAt: ContinuousClock.Instant? = nil) -> Bool {
        guard let session else { return false }
        let start = openedAt ?? requestStarted
        switch h {
        case .directory:
            return true
        case .download(let fd, let entry, let coverage, let bytes):
            Glibc.close(fd)
            let whole = coverage.covers(size: entry.size)
            exchange.downloadEnded(entry, for: session, served: coverage, bytes: bytes)
            access(.download, "open-read-close", bundle: entry.bundleID, bytes: bytes, status: whole ? "ok" : "partial", since: start)
            return true
        case .upload(let upload) where complete && TemporaryUploadName.isTemporary(upload.name):
            // Kept aside until the client renames it to its real name (or discarded at the end).
            do { try upload.sync() } catch {
                upload.discard(interrupted: false)
                access(.upload, "open-write-close", bytes: upload.bytes, status: "failed", since: start)
                return false
            }
            held[upload.name] = upload
            access(.upload, "open-write-close", bytes: upload.bytes, status: "held", since: start)
            return true
        case .upload(let upload):
            guard complete else {
                let bytes = upload.bytes
                upload.discard(interrupted: true)
                access(.upload, "open-write-close", bytes: bytes, status: "interrupted", since: start)
                return false
            }
            do {
                _ = try upload.commit()
                stored[upload.name] = (upload.bytes, Date())
                access(.upload, "open-write-close", bytes: upload.bytes, status: "ok", since: start)
                return true
            } catch {
                logger.error("an upload could not be stored, recorded or processed: refused", metadata: ["error": "\(error)"])
                access(.upload, "open-write-close", bytes: upload.bytes, status: "failed", since: start)
                return false
            }
        }
    }

    private func closeAllHandles() {
        for (id, h) in handles { release(h, complete: false, openedAt: opened[id]) }
        handles.removeAll()
        opened.removeAll()
        // Temporary names never renamed: not processed.
        for upload in held.values { upload.discard(interrupted: true) }
        held.removeAll()
    }

    /// RENAME (or `posix-rename@openssh.com`) of an upload kept under a temporary name to its
    /// real name in `/inbox`: the upload is processed under the real name now. Any other rename
    /// is refused, as before.
    private func rename(_ m: sftp_client_message) {
        guard let from = path(m, "rename") else { return }
        guard case .inboxFile(let temporary) = from, let upload = held[temporary],
              let data = m.pointee.data,
              case .success(.inboxFile(let final)) = VirtualPath.parse(String(decoding: UnsafeRawBufferPointer(
                  start: ssh_string_data(data), count: Int(ssh_string_len(data))), as: UTF8.self)),
              !TemporaryUploadName.isTemporary(final) else {
            denied(m, "rename")
            return
        }
        do {
            try upload.rename(to: final)
        } catch let r as Refusal {
            reply(m, refusal: r.reason)   // recorded by the exchange (the name is taken)
            return
        } catch {
            sftp_reply_status(m, UInt32(SSH_FX_FAILURE), "cannot rename")
            return
        }
        held[temporary] = nil
        do {
            _ = try upload.commit()
            stored[final] = (upload.bytes, Date())
            sftp_reply_status(m, UInt32(SSH_FX_OK), nil)
            access(.upload, "rename", bytes: upload.bytes, status: "ok", since: requestStarted)
        } catch {
            logger.error("an upload could not be stored, recorded or processed: refused", metadata: ["error": "\(error)"])
            sftp_reply_status(m, UInt32(SSH_FX_FAILURE), "the upload could not be stored")
            access(.upload, "rename", bytes: upload.bytes, status: "failed", since: requestStarted)
        }
    }

    // MARK: Helpers

    static func attributes(directory: Bool, size: Int64, modified: Date, writable: Bool = false) -> sftp_attributes_struct {
        var a = sftp_attributes_struct()
        a.flags = UInt32(SSH_FILEXFER_ATTR_SIZE | SSH_FILEXFER_ATTR_PERMISSIONS | SSH_FILEXFER_ATTR_ACMODTIME)
        a.size = UInt64(max(0, size))
        // `/inbox` is drwx-wx---: the partner writes into it and lists only its own uploads.
        a.permissions = directory ? UInt32(S_IFDIR) | (writable ? 0o730 : 0o555) : UInt32(S_IFREG) | 0o444
        let t = UInt32(truncatingIfNeeded: Int64(modified.timeIntervalSince1970))
        a.atime = t
        a.mtime = t
        return a
    }

    private static func longName(_ e: DirectoryEntry) -> String {
        let mode = e.isDirectory ? (e.writable ? "drwx-wx---" : "dr-xr-xr-x") : "-r--r--r--"
        let size = String(e.size)
        let pad = String(repeating: " ", count: max(1, 12 - size.count))
        return "\(mode)    1 partner  partner \(pad)\(size) \(Timestamp.format(e.modified).prefix(16).replacingOccurrences(of: "T", with: " ")) \(e.name)"
    }

    static func peerAddress(_ fd: Int32) -> String {
        var addr = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &len) }
        }
        guard ok == 0, addr.ss_family == sa_family_t(AF_INET) else { return "unknown" }
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                var buf = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
                var a = sin.pointee.sin_addr
                inet_ntop(AF_INET, &a, &buf, socklen_t(buf.count))
                let host = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                return "\(host):\(UInt16(bigEndian: sin.pointee.sin_port))"
            }
        }
    }
}
