import Foundation

/// A server started by a test (`claimgate serve`, `sshd`), stopped by PID when released.
///
/// Spawned with `posix_spawn`, not Foundation's `Process`: Process reaps its children with a
/// blocking `wait4` on one thread, so a long-running child stalls every later `Process` run.
public final class ServerProcess: @unchecked Sendable {
    public let pid: pid_t
    public let output: String
    private var exitStatus: Int32?

    /// Starts `arguments` with stdout and stderr going to `logPath`.
    public init(_ arguments: [String], logPath: String, environment: [String: String] = [:]) throws {
        output = logPath
        FileManager.default.createFile(atPath: logPath, contents: nil)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        // Run through a shell that closes every inherited descriptor above 2 before exec: tests run
        // in parallel, and a pipe another test is reading must not stay open in a long-lived server
        // (its reader would never see end-of-file).
        let closer = "for fd in /proc/$$/fd/*; do n=${fd##*/}; [ \"$n\" -gt 2 ] 2>/dev/null && eval \"exec $n>&-\"; done; exec \"$@\""
        let wrapped = ["/bin/bash", "-c", closer, "server"] + arguments
        let argv = wrapped.map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        // Default signal handling in the child: an ignored SIGTERM (the test runner may ignore
        // it) would otherwise be inherited, and a server without its own handler (Python's
        // http.server) would not stop when asked.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT] { sigaddset(&defaults, s) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var child: pid_t = 0
        let rc = posix_spawn(&child, wrapped[0], &actions, &attributes, argv, envp)
        guard rc == 0 else { throw ServerError(message: "cannot start \(arguments[0]): \(String(cString: strerror(rc)))") }
        pid = child
        Cleanup.register(pid: child)
    }

    /// The log so far.
    public var text: String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }

    public var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid {
            exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            Cleanup.unregister(pid: pid)
            return false
        }
        return true
    }

    /// Waits until the log matches `pattern` (a regular expression) and returns the first capture group.
    public func waitFor(_ pattern: String, timeout: Double = 20) throws -> String {
        let regex = try NSRegularExpression(pattern: pattern)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let t = text
            if let m = regex.firstMatch(in: t, range: NSRange(t.startIndex..., in: t)) {
                let r = m.numberOfRanges > 1 ? m.range(at: 1) : m.range
                return String(t[Range(r, in: t)!])
            }
            if !isRunning { break }
            usleep(50_000)
        }
        throw ServerError(message: "server did not print /\(pattern)/; log:\n\(text)")
    }

    /// Sends SIGTERM and waits for the exit; returns the exit status (128+signal if killed).
    @discardableResult
    public func stop(timeout: Double = 15) -> Int32 {
        if isRunning { kill(pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning, Date() < deadline { usleep(20_000) }
        if isRunning {
            kill(pid, SIGKILL)
            while isRunning { usleep(10_000) }
        }
        return exitStatus ?? -1
    }

    deinit { stop() }

    public struct ServerError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }
}
