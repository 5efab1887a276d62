import ClaimGateCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The account a command runs as at the gateway host's shell, by the process's real user id.
public enum LocalAccount {
    /// The principal of the shell running this process: its real uid (`getuid`, which `sudo -u`
    /// and setuid programs set and the environment cannot change) and that account's name from
    /// the password database (`getpwuid_r`). `$USER` and `$LOGNAME` are never read: anyone can
    /// set them.
    public static func current() -> Principal {
        let uid = getuid()
        return .local(uid: UInt32(uid), name: name(of: uid))
    }

    /// The name the password database gives `uid`, nil when it has none.
    static func name(of uid: uid_t) -> String? {
        var size = Int(sysconf(Int32(_SC_GETPW_R_SIZE_MAX)))
        if size <= 0 { size = 16_384 }
        while size <= 1 << 20 {
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>? = nil
            var buffer = [CChar](repeating: 0, count: size)
            // The entry's strings point into the buffer: read the name while it is borrowed.
            let (rc, found): (Int32, String?) = buffer.withUnsafeMutableBufferPointer { b in
                let rc = getpwuid_r(uid, &entry, b.baseAddress!, size, &result)
                guard rc == 0, let r = result, let name = r.pointee.pw_name else { return (rc, nil) }
                return (rc, String(cString: name))
            }
            if rc == ERANGE { size *= 2; continue }
            return found
        }
        return nil
    }
}
