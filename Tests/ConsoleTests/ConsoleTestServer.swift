import ClaimGateCore
import ClaimGateTesting
@testable import Console
import Foundation
import Logging
@testable import Operations
import ServiceLifecycle
import Testing

/// A real gateway home and a real `ConsoleServer` over it on 127.0.0.1 (port 0), asked by stock
/// `curl` trusting the gateway CA.
final class ConsoleTestServer: @unchecked Sendable {
    let dir = TemporaryDirectory("claimgate-console")
    let gateway: Gateway

    init() throws {
        var logger = Logger(label: "claimgate.test.console")
        logger.logLevel = .critical
        gateway = try Gateway.initialise(home: Home(root: dir.path + "/home"), gatewayID: "test-gateway",
                                         by: .local(uid: 1000, name: "test"), logger: logger)
    }

    var caFile: String { gateway.home.identity + "/" + GatewayIdentity.File.ca }

    /// Gives operator `name` a console password and a TOTP secret, at the shell.
    func enrol(_ name: String, password: String) throws {
        try gateway.setConsolePassword(name, password: password, by: .local(uid: 1000, name: "test"))
        _ = try gateway.enrolConsoleTOTP(name, by: .local(uid: 1000, name: "test"))
    }

    /// Operator `name`'s TOTP code, `offset` steps from now (each code is taken once).
    func code(_ name: String, offset: Int64 = 0) throws -> String {
        let secret = try #require(try gateway.store.consoleCredentials(OperatorID(name))?.totpSecret)
        return ConsoleSecrets.code(secret: secret, step: ConsoleSecrets.step(of: Date()) + offset)
    }

    /// Runs the console for the length of `body` (given its port), then shuts it down gracefully.
    func serve(_ body: (Int) async throws -> Void) async throws {
        try await withTaskExecutorPreference(DedicatedExecutor.shared) {
            var logger = Logger(label: "claimgate.test.console")
            logger.logLevel = .warning
            var configuration = ConsoleServer.Configuration(
                certificateChainDER: [try gateway.identity.tls().der, gateway.identity.ca.der],
                privateKeyPEM: Array(try Data(contentsOf: URL(fileURLWithPath: gateway.home.identity + "/" + GatewayIdentity.File.tlsKey))))
            configuration.timeZone = TimeZone(identifier: "Asia/Shanghai")!
            let (ports, listening) = AsyncStream.makeStream(of: Int.self)
            let server = ConsoleServer(configuration: configuration, gateway: gateway, logger: logger) { listening.yield($0) }
            let group = ServiceGroup(services: [server], logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { defer { listening.finish() }; try await group.run() }
                var first = ports.makeAsyncIterator()
                guard let port = await first.next() else {
                    try await tasks.waitForAll()
                    Issue.record("the console stopped before it listened")
                    return
                }
                do { try await body(port) } catch {
                    await group.triggerGracefulShutdown(); try? await tasks.waitForAll(); throw error
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
    }

    /// `curl` trusting the gateway CA (no client certificate); headers to a file, the body to stdout.
    func curl(_ port: Int, _ path: String, _ extra: [String] = []) async throws -> Answer {
        let headerFile = dir.file("headers-\(UUID().uuidString.prefix(8)).txt")
        let r = try await Shell.runDetached(["curl", "-sS", "--max-time", "20", "--cacert", caFile, "-D", headerFile]
                                            + extra + ["https://127.0.0.1:\(port)\(path)"])
        try #require(r.succeeded, "curl failed: \(r.stderr)")
        let text = try String(contentsOfFile: headerFile, encoding: .utf8)
        var headers: [String: String] = [:]
        var status = 0
        for line in text.split(separator: "\r\n") {
            if line.hasPrefix("HTTP/") { status = Int(line.split(separator: " ")[1]) ?? 0; continue }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased(), value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers[name] = headers[name].map { $0 + "\n" + value } ?? value
        }
        return Answer(status: status, headers: headers, body: r.stdout)
    }

}

/// One `curl` answer.
struct Answer {
    let status: Int
    /// Header names in lowercase; `set-cookie` lines joined with a newline.
    let headers: [String: String]
    let body: String

    /// The value of cookie `name` this answer sets, with its attributes (lowercased).
    func cookie(_ name: String) -> (value: String, attributes: Set<String>)? {
        guard let line = headers["set-cookie"]?.split(separator: "\n").first(where: { $0.hasPrefix(name + "=") }) else { return nil }
        let parts = line.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        return (String(parts[0].dropFirst(name.count + 1)), Set(parts.dropFirst().map { $0.lowercased() }))
    }
}
