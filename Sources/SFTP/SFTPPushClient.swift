import CLibSSH
import ClaimGateCore
import Foundation

/// An SFTP client connection (libssh) that trusts the server only if its host key matches a
/// pinned SHA-256 fingerprint, and logs in with a key. One thread at a time.
public final class SFTPConnection: @unchecked Sendable {
    let session: ssh_session
    let sftp: sftp_session
    /// `sftp://user@host:port`, for messages.
    public let address: String

    /// Connects, checks the pin before sending anything else, authenticates and starts SFTP.
    /// - Parameters:
    ///   - hostKeyPin: `SHA256:…` as `ssh-keygen -lf` prints it.
    ///   - clientKeyPath: the private key to log in with (OpenSSH format).
    public init(host: String, port: Int, user: String, hostKeyPin: String, clientKeyPath: String, timeoutSeconds: Int = 30) throws {
        ssh_init()
        address = "sftp://\(user)@\(host):\(port)"
        guard let session = ssh_new() else { throw PushError(.connect, "Out of memory.") }
        var port32 = Int32(port)
        var timeout = timeoutSeconds
        var one: Int32 = 1
        var no: Int32 = 0
        ssh_options_set(session, SSH_OPTIONS_HOST, host)
        ssh_options_set(session, SSH_OPTIONS_PORT, &port32)
        ssh_options_set(session, SSH_OPTIONS_USER, user)
        ssh_options_set(session, SSH_OPTIONS_TIMEOUT, &timeout)
        ssh_options_set(session, SSH_OPTIONS_NODELAY, &one)
        ssh_options_set(session, SSH_OPTIONS_PROCESS_CONFIG, &no)       // no ~/.ssh/config
        // AES-GCM first: hardware AES makes it the cheapest AEAD for both ends of a bulk push.
        for direction in [SSH_OPTIONS_CIPHERS_C_S, SSH_OPTIONS_CIPHERS_S_C] {
            ssh_options_set(session, direction, Self.ciphers)
        }
        ssh_options_set(session, SSH_OPTIONS_KNOWNHOSTS, "/dev/null")     // trust comes from the pin only
        ssh_options_set(session, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null")
        guard ssh_connect(session) == SSH_OK else {
            let why = Self.error(session)
            ssh_free(session)
            throw PushError(.connect, "Cannot connect to \(address): \(why).")
        }
        func fail(_ e: PushError) -> PushError {
            ssh_disconnect(session)
            ssh_free(session)
            return e
        }
        var serverKey: ssh_key?
        guard ssh_get_server_publickey(session, &serverKey) == SSH_OK, let serverKey else {
            throw fail(PushError(.hostKeyMismatch, "\(address) presented no host key."))
        }
        let fingerprint = try? SSHPublicKey.fingerprint(of: serverKey)
        ssh_key_free(serverKey)
        guard fingerprint == hostKeyPin else {
            throw fail(PushError(.hostKeyMismatch, "\(address) presented host key \(fingerprint ?? "?"), not the pinned \(hostKeyPin): nothing was sent. If the partner changed its key, update delivery.push.sftp.host_key in its agreement."))
        }
        var key: ssh_key?
        guard ssh_pki_import_privkey_file(clientKeyPath, nil, nil, nil, &key) == SSH_OK, let key else {
            throw fail(PushError(.authentication, "Cannot read the SSH client key \(clientKeyPath): run `claimgate init`."))
        }
        let auth = ssh_userauth_publickey(session, nil, key)
        ssh_key_free(key)
        guard auth == SSH_AUTH_SUCCESS.rawValue else {
            throw fail(PushError(.authentication, "\(address) refused the SSH key: give the partner `claimgate identity --ssh-client` for its authorized_keys."))
        }
        guard let sftp = sftp_new(session) else { throw fail(PushError(.transfer, "Cannot open SFTP on \(address).")) }
        guard sftp_init(sftp) == SSH_OK else {
            sftp_free(sftp)
            throw fail(PushError(.transfer, "\(address) did not start SFTP: \(Self.error(session))."))
        }
        self.session = session
        self.sftp = sftp
    }

    /// Cipher preference for the client: AEAD only.
    static let ciphers = "aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com"

    deinit {
        sftp_free(sftp)
        ssh_disconnect(session)
        ssh_free(session)
    }

    /// The size of a remote file, or nil when it does not exist.
    public func size(of path: String) -> Int64? {
        guard let a = sftp_stat(sftp, path) else { return nil }
        defer { sftp_attributes_free(a) }
        return Int64(a.pointee.size)
    }

    /// An open remote file.
    final class RemoteFile {
        let handle: sftp_file
        private var closed = false
        init(_ handle: sftp_file) { self.handle = handle }

        /// Closes the handle; the server reports write errors it deferred.
        func close(_ address: String) throws {
            guard !closed else { return }
            closed = true
            guard sftp_close(handle) == Int32(SSH_NO_ERROR.rawValue) else {
                throw PushError(.transfer, "Closing the upload on \(address) failed.")
            }
        }

        deinit { if !closed { sftp_close(handle) } }
    }

    /// Opens `path` for writing; `create` makes it new (fails if it exists).
    func openForWriting(_ path: String, create: Bool) throws -> RemoteFile {
        let flags = create ? O_WRONLY | O_CREAT | O_EXCL : O_WRONLY
        guard let f = sftp_open(sftp, path, flags, 0o640) else {
            throw PushError(.transfer, "Cannot \(create ? "create" : "open") \(path) on \(address): \(sftpError()). Check delivery.push.sftp.path.")
        }
        return RemoteFile(f)
    }

    /// Writes bytes `range` of the local file `fd` at the same offsets of `file`, in chunks of
    /// `SFTPPushClient.chunkSize`.
    func write(_ file: RemoteFile, from fd: Int32, range: Range<Int64>) throws {
        guard sftp_seek64(file.handle, UInt64(range.lowerBound)) == 0 else {
            throw PushError(.transfer, "Cannot seek in the upload on \(address).")
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: SFTPPushClient.chunkSize, alignment: 64)
        defer { buffer.deallocate() }
        var offset = range.lowerBound
        while offset < range.upperBound {
            let want = Int(min(Int64(buffer.count), range.upperBound - offset))
            let n = pread(fd, buffer.baseAddress, want, off_t(offset))
            guard n > 0, sftp_write(file.handle, buffer.baseAddress, n) == n else {
                throw PushError(.transfer, "Writing to \(address) failed at byte \(offset): \(sftpError()).")
            }
            offset += Int64(n)
        }
    }

    /// Flushes the file to the server's disk where the server offers `fsync@openssh.com`.
    func fsync(_ file: RemoteFile) throws {
        if sftp_extension_supported(sftp, "fsync@openssh.com", "1") != 0, sftp_fsync(file.handle) != 0 {
            throw PushError(.transfer, "\(address) could not flush the upload to disk.")
        }
    }

    func rename(_ from: String, to: String) throws {
        guard sftp_rename(sftp, from, to) == SSH_OK else {
            throw PushError(.transfer, "Renaming the upload to \(to) on \(address) failed: \(sftpError()).")
        }
    }

    func remove(_ path: String) { _ = sftp_unlink(sftp, path) }

    /// Downloads `remote` to a new local file `localPath`.
    /// - Returns: the bytes received.
    @discardableResult
    public func download(_ remote: String, to localPath: String) throws -> Int64 {
        guard let file = sftp_open(sftp, remote, O_RDONLY, 0) else {
            throw PushError(.transfer, "Cannot open \(remote) on \(address): \(sftpError()).")
        }
        defer { sftp_close(file) }
        let fd = Glibc.open(localPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw PushError(.transfer, "Cannot create \(localPath).") }
        defer { Glibc.close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 64)
        defer { buffer.deallocate() }
        var received: Int64 = 0
        while true {
            let n = sftp_read(file, buffer.baseAddress, buffer.count)
            if n == 0 { break }
            guard n > 0, Glibc.write(fd, buffer.baseAddress, n) == n else {
                unlink(localPath)
                throw PushError(.transfer, "Downloading \(remote) from \(address) failed after \(received) bytes.")
            }
            received += Int64(n)
        }
        guard Glibc.fsync(fd) == 0 else { throw PushError(.transfer, "Cannot flush \(localPath) to disk.") }
        return received
    }

    static func error(_ session: ssh_session) -> String {
        String(cString: ssh_get_error(UnsafeMutableRawPointer(session)))
    }

    func sftpError() -> String {
        switch sftp_get_error(sftp) {
        case SSH_FX_PERMISSION_DENIED: return "permission denied"
        case SSH_FX_NO_SUCH_FILE: return "no such file or folder"
        case SSH_FX_FILE_ALREADY_EXISTS: return "file exists"
        default: return Self.error(session)
        }
    }
}

/// Pushes a sealed bundle to a partner's SFTP server (see `SFTPConnection`): the partner never
/// sees a partial bundle, and a server whose host key does not match the pin gets nothing.
public struct SFTPPushClient: Sendable {
    /// Bytes per SFTP write: under OpenSSH's 256 KiB limit.
    public static let chunkSize = 255 * 1024

    public let target: SFTPPushTarget
    /// The gateway's SSH client private key (OpenSSH format).
    public let clientKeyPath: String
    public let timeoutSeconds: Int

    public init(target: SFTPPushTarget, clientKeyPath: String, timeoutSeconds: Int = 30) {
        self.target = target; self.clientKeyPath = clientKeyPath; self.timeoutSeconds = timeoutSeconds
    }

    /// Files at least this large go over `parallelStreams` connections at once: libssh 0.10
    /// writes synchronously, so one connection leaves both ends idle half the time.
    public static let parallelThreshold: Int64 = 64 << 20
    public static let parallelStreams = 4

    /// Uploads `localPath` as `remoteName` in the target folder: written under a temporary name,
    /// flushed (`fsync@openssh.com` where offered), checked for size, then renamed. Never
    /// overwrites; a same-size file already there counts as delivered (a lost acknowledgement).
    /// - Returns: the number of bytes delivered.
    @discardableResult
    public func push(localPath: String, remoteName: String) throws -> Int64 {
        let primary = try connect()
        let folder = target.path.hasSuffix("/") ? String(target.path.dropLast()) : target.path
        let final = folder + "/" + remoteName
        let fd = Glibc.open(localPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PushError(.transfer, "Cannot read \(localPath).") }
        defer { Glibc.close(fd) }
        var st = Glibc.stat()
        fstat(fd, &st)
        let size = Int64(st.st_size)
        if let existing = primary.size(of: final) {
            if existing == size { return size }
            throw PushError(.verification, "\(primary.address)\(final) already exists with a different size: refusing to overwrite it.")
        }
        let temporary = folder + "/." + remoteName + "." + UUID().uuidString.prefix(8).lowercased() + ".part"
        let file = try primary.openForWriting(temporary, create: true)
        do {
            try writeParallel(file, via: primary, temporary: temporary, from: fd, size: size)
            try primary.fsync(file)
            try file.close(primary.address)
            guard primary.size(of: temporary) == size else {
                throw PushError(.verification, "\(primary.address) does not hold all \(size) bytes after the upload.")
            }
            try primary.rename(temporary, to: final)
        } catch {
            primary.remove(temporary)
            throw error
        }
        return size
    }

    private func connect() throws -> SFTPConnection {
        try SFTPConnection(host: target.host, port: target.port, user: target.user, hostKeyPin: target.hostKey,
                           clientKeyPath: clientKeyPath, timeoutSeconds: timeoutSeconds)
    }

    /// Writes the file in ranges, one per connection, each on its own thread (a libssh session
    /// belongs to one thread). Extra connections that cannot be opened are done without.
    private func writeParallel(_ file: SFTPConnection.RemoteFile, via primary: SFTPConnection, temporary: String,
                               from fd: Int32, size: Int64) throws {
        var extra: [SFTPConnection] = []
        if size >= Self.parallelThreshold {
            for _ in 1..<Self.parallelStreams {
                guard let c = try? connect() else { break }
                extra.append(c)
            }
        }
        let streams = 1 + extra.count
        let chunk = Int64(Self.chunkSize)
        let per = ((size / Int64(streams)) / chunk + 1) * chunk
        let ranges = (0..<streams).map { i in min(size, Int64(i) * per)..<min(size, Int64(i + 1) * per) }
        let errors = ErrorBox()
        let group = DispatchGroup()
        for (i, c) in extra.enumerated() {
            let range = ranges[i + 1]
            let worker = Thread { [c] in
                defer { group.leave() }
                do {
                    let f = try c.openForWriting(temporary, create: false)
                    try c.write(f, from: fd, range: range)
                    try f.close(c.address)
                } catch { errors.set(error) }
            }
            group.enter()
            worker.start()
        }
        do { try primary.write(file, from: fd, range: ranges[0]) } catch { errors.set(error) }
        group.wait()
        if let e = errors.first { throw e }
    }
}

/// The first error of several threads.
private final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var error: Error?
    func set(_ e: Error) { lock.withLock { if error == nil { error = e } } }
    var first: Error? { lock.withLock { error } }
}
