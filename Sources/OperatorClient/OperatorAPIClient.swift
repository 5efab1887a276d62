import AsyncHTTPClient
import ClaimGateCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// The command line's side of the operator API: requests over mutual TLS with the operator's
/// certificate, trusting only the gateway CA, and answers turned back into what a local command
/// sees (a JSON body, a stream, or the `ClaimGateError` of the problem document, so the command
/// exits with the same status).
///
/// Calls block the calling thread (a command's `run`), never a task of the concurrency pool.
/// Documents are uploaded and downloaded as streams: no file is held whole in memory.
public final class OperatorAPIClient: Sendable {
    /// An answer: its status, its headers, and its body (empty for a download, which went to its sink).
    public struct Reply: Sendable {
        public let status: Int
        public let headers: HTTPHeaders
        public let body: Data

        /// The body as UTF-8 text.
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public let configuration: OperatorClientConfiguration
    private let client: HTTPClient
    /// The most a JSON answer may hold (an audit report of a busy month fits easily).
    static let jsonLimit = 256 << 20

    /// Loads the certificate, key and CA.
    /// - Throws: `unreadable-input` or `invalid-argument` naming the file that is missing or not PEM.
    public init(_ configuration: OperatorClientConfiguration) throws {
        self.configuration = configuration
        func read(_ path: String, _ what: String) throws -> [UInt8] {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ClaimGateError(.unreadableInput, "Cannot read \(what) \(path): check the path and that you may read it.")
            }
            return Array(data)
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = .fullVerification
        do {
            let roots = try NIOSSLCertificate.fromPEMBytes(read(configuration.gatewayCAFile, "the gateway CA (--gateway-ca)"))
            guard !roots.isEmpty else { throw NIOSSLError.failedToLoadCertificate }
            tls.trustRoots = .certificates(roots)
        } catch let e as ClaimGateError { throw e } catch {
            throw ClaimGateError(.invalidArgument, "The gateway CA \(configuration.gatewayCAFile) holds no PEM certificate: give the file `claimgate identity --pem` prints.")
        }
        do {
            let chain = try NIOSSLCertificate.fromPEMBytes(read(configuration.certificateFile, "the operator certificate (--operator-cert)"))
            guard !chain.isEmpty else { throw NIOSSLError.failedToLoadCertificate }
            tls.certificateChain = chain.map { .certificate($0) }
        } catch let e as ClaimGateError { throw e } catch {
            throw ClaimGateError(.invalidArgument, "The operator certificate \(configuration.certificateFile) holds no PEM certificate: give NAME.pem from `claimgate operator add`.")
        }
        do {
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: read(configuration.keyFile, "the operator key (--operator-key)"), format: .pem))
        } catch let e as ClaimGateError { throw e } catch {
            throw ClaimGateError(.invalidArgument, "The operator key \(configuration.keyFile) is not a PEM private key without a passphrase: give NAME.key from `claimgate operator add`.")
        }
        var config = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow,
                                              timeout: .init(connect: .seconds(15), read: .seconds(600)))
        config.httpVersion = .http1Only
        config.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    /// Closes the connections. Call once, when the command is done.
    public func shutdown() {
        try? client.syncShutdown()
    }

    /// A request whose answer is JSON (or short text), kept whole.
    /// - Parameters:
    ///   - path: the path's segments after the host (`["v1", "bundles", id]`), each percent-encoded here.
    ///   - body: a JSON body, if any.
    /// - Throws: the problem document's error for any answer outside 2xx; `io` when the gateway
    ///   cannot be reached or the TLS handshake fails.
    public func call(_ method: HTTPMethod, _ path: [String], query: [(String, String)] = [], json body: Data? = nil) throws -> Reply {
        let request = try self.request(method, path, query: query, contentType: body == nil ? nil : "application/json",
                                       body: body.map { .bytes(ByteBuffer(bytes: $0)) })
        let client = self.client, base = configuration.gateway
        return try Blocking.run {
            let response = try await Self.execute(request, on: client, base: base)
            let bytes = try await response.body.collect(upTo: Self.jsonLimit)
            let reply = Reply(status: Int(response.status.code), headers: response.headers, body: Data(bytes.readableBytesView))
            try Self.check(reply, base: base)
            return reply
        }
    }

    /// A request whose answer streams (a document, an export, a sealed bundle): each piece goes
    /// to `sink` as it arrives, in order.
    /// - Returns: the answer's status and headers (its body is empty).
    public func download(_ method: HTTPMethod, _ path: [String], query: [(String, String)] = [], json body: Data? = nil,
                         to sink: @escaping @Sendable (Data) throws -> Void) throws -> Reply {
        let request = try self.request(method, path, query: query, contentType: body == nil ? nil : "application/json",
                                       body: body.map { .bytes(ByteBuffer(bytes: $0)) })
        let client = self.client, base = configuration.gateway
        return try Blocking.run {
            let response = try await Self.execute(request, on: client, base: base)
            guard (200..<300).contains(Int(response.status.code)) else {
                let bytes = try await response.body.collect(upTo: 1 << 20)
                try Self.check(Reply(status: Int(response.status.code), headers: response.headers, body: Data(bytes.readableBytesView)), base: base)
                fatalError("unreachable: check throws for an answer outside 2xx")
            }
            do {
                for try await piece in response.body { try sink(Data(piece.readableBytesView)) }
            } catch let e as ClaimGateError { throw e } catch {
                throw ClaimGateError(.io, "The answer from the gateway \(base.absoluteString) was cut off: \(error). Run the command again.")
            }
            return Reply(status: Int(response.status.code), headers: response.headers, body: Data())
        }
    }

    /// Uploads an open file (from its current offset, `size` bytes) as the body of `POST path`,
    /// streamed, and keeps the JSON answer. The caller opened it (with the checks a local command
    /// makes) and closes it.
    public func upload(_ handle: FileHandle, size: Int64, to path: [String]) throws -> Reply {
        let request = try self.request(.POST, path, query: [], contentType: "application/octet-stream",
                                       body: .stream(FileChunks(handle: handle), length: .known(size)))
        let client = self.client, base = configuration.gateway
        return try Blocking.run {
            let response = try await Self.execute(request, on: client, base: base)
            let bytes = try await response.body.collect(upTo: 1 << 20)
            let reply = Reply(status: Int(response.status.code), headers: response.headers, body: Data(bytes.readableBytesView))
            try Self.check(reply, base: base)
            return reply
        }
    }

    // MARK: Requests and answers

    private func request(_ method: HTTPMethod, _ path: [String], query: [(String, String)], contentType: String?,
                         body: HTTPClientRequest.Body?) throws -> HTTPClientRequest {
        var url = configuration.gateway.absoluteString + "/" + path.map(Self.encode).joined(separator: "/")
        if !query.isEmpty { url += "?" + query.map { Self.encode($0.0) + "=" + Self.encode($0.1) }.joined(separator: "&") }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "User-Agent", value: "claimgate-cli")
        request.headers.add(name: "Accept", value: "application/json, */*")
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        if let body { request.body = body } else if method == .POST || method == .PUT {
            request.headers.add(name: "Content-Length", value: "0")
        }
        return request
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters.
    static func encode(_ text: String) -> String {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    private static func execute(_ request: HTTPClientRequest, on client: HTTPClient, base: URL) async throws -> HTTPClientResponse {
        do {
            return try await client.execute(request, deadline: .now() + .hours(12))
        } catch {
            throw explain(error, base: base)
        }
    }

    /// The problem document of an answer outside 2xx as the error a local command throws.
    static func check(_ reply: Reply, base: URL) throws {
        guard !(200..<300).contains(reply.status) else { return }
        struct Problem: Decodable { let code: String?; let detail: String?; let reason: String? }
        let problem = try? JSONDecoder().decode(Problem.self, from: reply.body)
        if let problem, let raw = problem.code, let code = ClaimGateError.Code(rawValue: raw), let detail = problem.detail {
            throw ClaimGateError(code, detail, refusal: problem.reason.flatMap(Refusal.Reason.init(rawValue:)))
        }
        throw ClaimGateError(.io, "The gateway \(base.absoluteString) answered \(reply.status) without saying why: is it a ClaimGate operator API (`claimgate serve --operator-api`)?")
    }

    /// A failure to reach the gateway, in one sentence that says what to check.
    static func explain(_ error: any Error, base: URL) -> ClaimGateError {
        let host = base.host ?? base.absoluteString
        let text = "\(error)"
        if error is NIOSSLError || error is NIOSSLExtraError || text.contains("SSL") || text.contains("handshake") {
            return ClaimGateError(.io, "The TLS handshake with the gateway \(base.absoluteString) failed: check that --gateway-ca is the gateway's `claimgate identity --pem`, that \(host) is a name in its TLS certificate, and that your operator certificate is current (`claimgate operator show` at the gateway).", diagnostics: text)
        }
        if text.contains("connectionRefused") || text.contains("Connection refused") || text.contains("connect") {
            return ClaimGateError(.io, "Nothing answers at \(base.absoluteString): is `claimgate serve --operator-api` running there, and is the address right?", diagnostics: text)
        }
        return ClaimGateError(.io, "The request to the gateway \(base.absoluteString) failed: \(text.prefix(200)). Run the command again.", diagnostics: text)
    }
}

/// A file as 256 KiB buffers, read on demand from an open handle.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let handle: FileHandle

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle
        mutating func next() async throws -> ByteBuffer? {
            let data = try handle.read(upToCount: 256 << 10) ?? Data()
            return data.isEmpty ? nil : ByteBuffer(bytes: data)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(handle: handle) }
}
