import CLibSSH
import ClaimGateCore
import Foundation

/// Why a push failed. `code` is stable (for the delivery record and metrics); `message` says what
/// happened and what to do.
public struct PushError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case connect = "connect-failed"
        case hostKeyMismatch = "host-key-mismatch"
        case authentication = "authentication-failed"
        case transfer = "transfer-failed"
        case verification = "verification-failed"
    }
    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) { self.code = code; self.message = message }
    public var description: String { message }
}

/// Pushes a sealed bundle to a partner's SFTP server with libssh, trusting the server only if its
/// host key matches the pinned SHA-256 fingerprint. The file is written under a temporary name in
/// the target folder, flushed (`fsync@openssh.com` where offered), checked for size, then renamed
/// to its final name: the partner never sees a partial bundle.
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

    /// Uploads `localPath` as `remoteName` in the target folder.
    /// - Returns: the number of bytes delivered.
    @discardableResult
    public func push(localPath: String, remoteName: String) throws -> Int64 {
        ssh_init()
        guard let session = ssh_new() else { throw PushError(.connect, "Out of memory.") }
        defer { ssh_free(session) }
        var port = Int32(target.port)
        var timeout = timeoutSeconds
        var one: Int32 = 1
        var no: Int32 = 0
        ssh_options_set(session, SSH_OPTIONS_HOST, target.host)
        ssh_options_set(session, SSH_OPTIONS_PORT, &port)
        ssh_options_set(session, SSH_OPTIONS_USER, target.user)
        ssh_options_set(session, SSH_OPTIONS_TIMEOUT, &timeout)
        ssh_options_set(session, SSH_OPTIONS_NODELAY, &one)
        ssh_options_set(session, SSH_OPTIONS_PROCESS_CONFIG, &no)       // no ~/.ssh/config
        ssh_options_set(session, SSH_OPTIONS_KNOWNHOSTS, "/dev/null")     // trust comes from the pin only
        ssh_options_set(session, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null")
        let where_ = "sftp://\(target.user)@\(target.host):\(target.port)"
        guard ssh_connect(session) == SSH_OK else {
            throw PushError(.connect, "Cannot connect to \(where_): \(Self.error(session)). The delivery will be retried.")
        }
        defer { ssh_disconnect(session) }

        // The pin, before anything else is sent.
        var serverKey: ssh_key?
        guard ssh_get_server_publickey(session, &serverKey) == SSH_OK, let serverKey else {
            throw PushError(.hostKeyMismatch, "\(where_) presented no host key.")
        }
        defer { ssh_key_free(serverKey) }
        let fingerprint = try SSHPublicKey.fingerprint(of: serverKey)
        guard fingerprint == target.hostKey else {
            throw PushError(.hostKeyMismatch, "\(where_) presented host key \(fingerprint), not the pinned \(target.hostKey): nothing was sent. If the partner changed its key, update delivery.push.sftp.host_key in its agreement.")
        }

        var key: ssh_key?
        guard ssh_pki_import_privkey_file(clientKeyPath, nil, nil, nil, &key) == SSH_OK, let key else {
            throw PushError(.authentication, "Cannot read the gateway SSH client key \(clientKeyPath): run `claimgate init`.")
        }
        defer { ssh_key_free(key) }
        guard ssh_userauth_publickey(session, nil, key) == SSH_AUTH_SUCCESS.rawValue else {
            throw PushError(.authentication, "\(where_) refused the gateway's SSH key: give the partner `claimgate identity --ssh-client` for its authorized_keys.")
        }

        guard let sftp = sftp_new(session) else { throw PushError(.transfer, "Cannot open SFTP on \(where_).") }
        defer { sftp_free(sftp) }
        guard sftp_init(sftp) == SSH_OK else { throw PushError(.transfer, "\(where_) did not start SFTP: \(Self.error(session)).") }

        let folder = target.path.hasSuffix("/") ? String(target.path.dropLast()) : target.path
        let final = folder + "/" + remoteName
        let temporary = folder + "/." + remoteName + "." + UUID().uuidString.prefix(8).lowercased() + ".part"

        let fd = Glibc.open(localPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PushError(.transfer, "Cannot read \(localPath).") }
        defer { Glibc.close(fd) }
        var st = Glibc.stat()
        fstat(fd, &st)
        let size = Int64(st.st_size)

        // Already there from an earlier attempt whose acknowledgement was lost?
        if let existing = sftp_stat(sftp, final) {
            let existingSize = Int64(existing.pointee.size)
            sftp_attributes_free(existing)
            if existingSize == size { return size }
            throw PushError(.verification, "\(where_)\(final) already exists with a different size: refusing to overwrite it.")
        }

        guard let file = sftp_open(sftp, temporary, O_WRONLY | O_CREAT | O_EXCL, 0o640) else {
            throw PushError(.transfer, "Cannot create \(temporary) on \(where_): \(Self.sftpError(sftp, session)). Check delivery.push.sftp.path.")
        }
        var sent: Int64 = 0
        var failure: PushError?
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 64)
        defer { buffer.deallocate() }
        while failure == nil {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n == 0 { break }
            guard n > 0, sftp_write(file, buffer.baseAddress, n) == n else {
                failure = PushError(.transfer, "Writing to \(where_) failed after \(sent) bytes: \(Self.sftpError(sftp, session)).")
                break
            }
            sent += Int64(n)
        }
        if failure == nil, sftp_extension_supported(sftp, "fsync@openssh.com", "1") != 0, sftp_fsync(file) != 0 {
            failure = PushError(.transfer, "\(where_) could not flush the upload to disk.")
        }
        if sftp_close(file) != Int32(SSH_NO_ERROR.rawValue), failure == nil {
            failure = PushError(.transfer, "Closing the upload on \(where_) failed.")
        }
        if failure == nil {
            if let a = sftp_stat(sftp, temporary) {
                let remoteSize = Int64(a.pointee.size)
                sftp_attributes_free(a)
                if remoteSize != size {
                    failure = PushError(.verification, "\(where_) holds \(remoteSize) bytes of \(size) after the upload.")
                }
            } else {
                failure = PushError(.verification, "The upload vanished from \(where_).")
            }
        }
        if failure == nil, sftp_rename(sftp, temporary, final) != SSH_OK {
            failure = PushError(.transfer, "Renaming the upload to \(final) on \(where_) failed: \(Self.sftpError(sftp, session)).")
        }
        if let failure {
            _ = sftp_unlink(sftp, temporary)
            throw failure
        }
        return sent
    }

    static func error(_ session: ssh_session) -> String {
        String(cString: ssh_get_error(UnsafeMutableRawPointer(session)))
    }

    static func sftpError(_ sftp: sftp_session, _ session: ssh_session) -> String {
        switch sftp_get_error(sftp) {
        case SSH_FX_PERMISSION_DENIED: return "permission denied"
        case SSH_FX_NO_SUCH_FILE: return "no such file or folder"
        case SSH_FX_FILE_ALREADY_EXISTS: return "file exists"
        default: return error(session)
        }
    }
}
