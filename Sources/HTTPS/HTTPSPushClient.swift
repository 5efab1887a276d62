import AsyncHTTPClient
import ClaimGateCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Pushes a sealed bundle to a partner's HTTPS endpoint: `POST url` with the gateway's client
/// certificate, trusting the server only if its certificate chains to the partner's trust anchor
/// and names the URL's host. The body streams from the file (constant memory).
///
/// The receiver contract (docs/https.md): headers `Bundle-Id` (so a retried push can be
/// deduplicated), `Content-Type: application/pkcs7-mime`, `Content-Length` and
/// `Repr-Digest: sha-256=:…:` (RFC 9530); any 2xx means stored. A receiver that already holds
/// that bundle id with the same digest answers 2xx again.
public struct HTTPSPushClient: Sendable {
    public struct Configuration: Sendable {
        /// `https://…` endpoint from the agreement (`delivery.push.https.url`).
        public var url: String
        /// The partner's CA certificates (DER): the only roots the server certificate may chain to.
        public var trustAnchorsDER: [[UInt8]]
        /// The gateway's TLS client certificate chain (DER, leaf first) and its key (PEM).
        public var clientCertificateChainDER: [[UInt8]]
        public var clientPrivateKeyPEM: [UInt8]
        /// Connection set-up limit, and the longest the server may stay silent mid-transfer.
        public var connectTimeout: TimeAmount = .seconds(15)
        public var readTimeout: TimeAmount = .seconds(120)

        public init(url: String, trustAnchorsDER: [[UInt8]], clientCertificateChainDER: [[UInt8]], clientPrivateKeyPEM: [UInt8]) {
            self.url = url
            self.trustAnchorsDER = trustAnchorsDER
            self.clientCertificateChainDER = clientCertificateChainDER
            self.clientPrivateKeyPEM = clientPrivateKeyPEM
        }
    }

    public let configuration: Configuration

    public init(configuration: Configuration) { self.configuration = configuration }

    /// Sends the file and waits for the server's answer.
    /// - Parameters:
    ///   - localPath: the sealed bundle.
    ///   - bundleID: sent as `Bundle-Id`.
    ///   - sha256Hex: the file's SHA-256, sent as `Repr-Digest`.
    /// - Returns: the number of bytes sent.
    /// - Throws: `PushError` saying what failed and whether retrying may help.
    public func push(localPath: String, bundleID: BundleID, sha256Hex: String) async throws -> Int64 {
        guard let url = URL(string: configuration.url), url.scheme == "https", let host = url.host else {
            throw PushError(.rejected, "delivery.push.https.url '\(configuration.url.prefix(80))' is not an https:// URL: fix the agreement.")
        }
        let size: Int64
        do {
            size = (try FileManager.default.attributesOfItem(atPath: localPath)[.size] as? NSNumber)?.int64Value ?? 0
        } catch {
            throw PushError(.transfer, "Cannot read the bundle file: \(error.localizedDescription)")
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = .fullVerification
        do {
            tls.trustRoots = .certificates(try configuration.trustAnchorsDER.map { try NIOSSLCertificate(bytes: $0, format: .der) })
            tls.certificateChain = try configuration.clientCertificateChainDER.map { .certificate(try NIOSSLCertificate(bytes: $0, format: .der)) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: configuration.clientPrivateKeyPEM, format: .pem))
        } catch {
            throw PushError(.serverNotTrusted, "The partner's trust anchor or the gateway's TLS identity cannot be loaded: \(error).")
        }
        var config = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow,
                                              timeout: .init(connect: configuration.connectTimeout, read: configuration.readTimeout))
        config.connectionPool.idleTimeout = .seconds(5)
        // One attempt per delivery try: the delivery queue owns retries and their backoff.
        config.connectionPool.retryConnectionEstablishment = false
        config.httpVersion = .http1Only
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: config)
        do {
            let sent = try await send(localPath, size: size, bundleID: bundleID, sha256Hex: sha256Hex, host: host, with: client)
            try? await client.shutdown()
            return sent
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func send(_ localPath: String, size: Int64, bundleID: BundleID, sha256Hex: String, host: String,
                      with client: HTTPClient) async throws -> Int64 {
        var request = HTTPClientRequest(url: configuration.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/pkcs7-mime; smime-type=enveloped-data")
        request.headers.add(name: "Bundle-Id", value: bundleID.description)
        if let b64 = Self.base64(hex: sha256Hex) { request.headers.add(name: "Repr-Digest", value: "sha-256=:\(b64):") }
        request.headers.add(name: "User-Agent", value: "ClaimGate")
        request.body = .stream(FileChunks(path: localPath), length: .known(size))

        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: .now() + .hours(12))
        } catch {
            throw Self.classify(error, host: host)
        }
        // Drain a short answer for the log; never trust more than 4 KiB of it.
        let answer = (try? await response.body.collect(upTo: 4096)).map { String(buffer: $0) } ?? ""
        switch response.status.code {
        case 200..<300:
            return size
        case 408, 425, 429:
            throw PushError(.transfer, "\(host) answered \(response.status.code) \(response.status.reasonPhrase): will retry.")
        case 400..<500:
            throw PushError(.rejected, "\(host) refused the bundle: \(response.status.code) \(response.status.reasonPhrase) \(answer.prefix(200)). Check the URL and the partner's receiver; the bundle can then be sent again with `claimgate send`.")
        default:
            throw PushError(.transfer, "\(host) answered \(response.status.code) \(response.status.reasonPhrase): will retry.")
        }
    }

    static func classify(_ error: any Error, host: String) -> PushError {
        if let e = error as? NIOSSLError {
            switch e {
            case .handshakeFailed(let reason):
                let text = "\(reason)"
                if text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("certificate verify failed") {
                    return PushError(.serverNotTrusted, "The certificate of \(host) does not chain to the partner's trust_anchor: check the agreement's certificates.trust_anchor.")
                }
                return PushError(.connect, "TLS handshake with \(host) failed (\(text.prefix(160))): will retry.")
            case .unableToValidateCertificate:
                return PushError(.serverNotTrusted, "The certificate of \(host) cannot be validated against the partner's trust_anchor.")
            default:
                return PushError(.transfer, "TLS error with \(host): \(e): will retry.")
            }
        }
        if let e = error as? NIOSSLExtraError, "\(e)".contains("hostname") || "\(e)".contains("Hostname") {
            return PushError(.serverNotTrusted, "The certificate of \(host) does not name that host: \(e).")
        }
        if let e = error as? HTTPClientError {
            if e == .connectTimeout || "\(e)".contains("connect") {
                return PushError(.connect, "Cannot connect to \(host): \(e): will retry.")
            }
            return PushError(.transfer, "The push to \(host) was cut off: \(e): will retry.")
        }
        if "\(error)".contains("connectionRefused") || "\(error)".contains("Connection refused") {
            return PushError(.connect, "Cannot connect to \(host): nothing is listening there: will retry.")
        }
        return PushError(.transfer, "The push to \(host) failed: \(error): will retry.")
    }

    static func base64(hex: String) -> String? {
        guard hex.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            guard let b = UInt8(hex[i..<j], radix: 16) else { return nil }
            bytes.append(b)
            i = j
        }
        return Data(bytes).base64EncodedString()
    }
}

/// A file as 256 KiB `ByteBuffer`s, read on demand.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    static let chunk = 256 << 10

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle?
        var failed = false

        mutating func next() async throws -> ByteBuffer? {
            guard let handle else { throw PushError(.transfer, "Cannot open the bundle file.") }
            let data = try handle.read(upToCount: FileChunks.chunk) ?? Data()
            if data.isEmpty { try? handle.close(); return nil }
            return ByteBuffer(bytes: data)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(handle: FileHandle(forReadingAtPath: path)) }
}
