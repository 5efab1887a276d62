import Foundation

/// Runs real programs (the `claimgate` binary, `openssl`, `tar`) and captures their output.
public enum Shell {
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
        public let stdoutData: Data
        public var succeeded: Bool { status == 0 }
    }

    /// Runs `arguments[0]` (looked up in PATH unless absolute) with the rest as arguments.
    @discardableResult
    public static func run(_ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:],
                           directory: String? = nil) throws -> Result {
        let p = Process()
        if arguments[0].hasPrefix("/") {
            p.executableURL = URL(fileURLWithPath: arguments[0])
            p.arguments = Array(arguments.dropFirst())
        } else {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = arguments
        }
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        p.environment = env
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out; p.standardError = err; p.standardInput = input
        try p.run()
        // Read both pipes concurrently so neither fills up.
        let errBox = DataBox()
        let errThread = Thread { errBox.data = err.fileHandleForReading.readDataToEndOfFile() }
        errThread.start()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while errBox.data == nil { usleep(1000) }
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errBox.data!, as: UTF8.self), stdoutData: outData)
    }

    /// The full path of a program in PATH, or nil when it is not installed.
    public static func which(_ name: String) -> String? {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return dirs.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs a `bash -c` script (for real pipelines such as `openssl … | openssl … | tar -x`).
    @discardableResult
    public static func bash(_ script: String, directory: String? = nil) throws -> Result {
        try run(["/bin/bash", "-o", "pipefail", "-c", script], directory: directory)
    }
}

private final class DataBox: @unchecked Sendable {
    private let lock = NSLock()
    private var _data: Data?
    var data: Data? {
        get { lock.lock(); defer { lock.unlock() }; return _data }
        set { lock.lock(); _data = newValue; lock.unlock() }
    }
}

/// The `claimgate` binary built next to the test runner.
public enum ClaimgateBinary {
    public static var path: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // The runner may sit inside an .xctest bundle folder.
        for _ in 0..<4 where !FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("claimgate").path) {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("claimgate").path
    }

    /// Runs `claimgate ARGS`.
    @discardableResult
    public static func run(_ arguments: [String], environment: [String: String] = [:], directory: String? = nil) throws -> Shell.Result {
        try Shell.run([path] + arguments, environment: environment, directory: directory)
    }
}

extension Shell {
    /// `run`, on a thread of its own: an async test (or a server it runs in-process, such as
    /// Hummingbird's) must not have a Swift concurrency thread blocked waiting for a client.
    public static func runDetached(_ arguments: [String], stdin: Data? = nil, directory: String? = nil) async throws -> Result {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Result, any Error>) in
            let t = Thread { c.resume(with: Swift.Result { try run(arguments, stdin: stdin, directory: directory) }) }
            t.name = "claimgate-test-client"
            t.start()
        }
    }
}
