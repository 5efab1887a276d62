import Foundation

/// A server started by a test (`claimgate serve`, `sshd`), stopped by PID when released.
public final class ServerProcess: @unchecked Sendable {
    public let process: Process
    public let output: String
    private let log: FileHandle

    /// Starts `arguments` with stdout and stderr going to `logPath`.
    public init(_ arguments: [String], logPath: String, environment: [String: String] = [:], directory: String? = nil) throws {
        FileManager.default.createFile(atPath: logPath, contents: nil)
        log = FileHandle(forWritingAtPath: logPath)!
        output = logPath
        process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        Cleanup.register(pid: process.processIdentifier)
    }

    public var pid: Int32 { process.processIdentifier }

    /// The log so far.
    public var text: String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }

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
            if !process.isRunning { break }
            usleep(50_000)
        }
        throw ServerError(message: "server did not print /\(pattern)/; log:\n\(text)")
    }

    /// Sends SIGTERM and waits for the exit; returns the exit status.
    @discardableResult
    public func stop(timeout: Double = 15) -> Int32 {
        if process.isRunning { kill(pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(pid, SIGKILL); process.waitUntilExit() }
        Cleanup.unregister(pid: pid)
        return process.terminationStatus
    }

    deinit {
        stop()
        try? log.close()
    }

    public struct ServerError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }
}
