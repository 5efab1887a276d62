import ClaimGateCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// The partner API's routes. What a partner sees of a refusal is decided here, in `problem`;
/// details go to the event log and the server log only.
struct PartnerRoutes: Sendable {
    let exchange: any PartnerExchange
    let logger: Logger
    /// Threads for the exchange's blocking, durable writes (audit entries wait for their group
    /// commit): the Swift concurrency pool must never block on an fsync, and many requests
    /// waiting at once is what lets their entries share one commit.
    let blocking: NIOThreadPool
    let peerCertificates = PeerCertificates()

    /// Runs a blocking exchange call (a durable write) on `blocking`.
    private func durably<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await blocking.runIfActive(body)
    }

    /// What the API serves: the table `register` adds, what `404` and `405` are judged by
    /// (`PartnerProblemMiddleware`), and what docs/openapi.yaml describes (tested).
    static let endpoints: [Endpoint] = [
        Endpoint(path: "/v1/bundles", method: .get, operation: .list),
        Endpoint(path: "/v1/bundles", method: .head, operation: .listHead),
        Endpoint(path: "/v1/bundles/:id", method: .get, operation: .download),
        Endpoint(path: "/v1/bundles/:id", method: .head, operation: .downloadHead),
        Endpoint(path: "/v1/bundles/:id/receipt", method: .post, operation: .receipt),
        Endpoint(path: "/v1/inbox", method: .post, operation: .inbox),
        // The same bundles as a folder of files, for generic HTTP file clients (rclone's http
        // backend, `wget -r`): an HTML index linking `<id>.p7m`, the names SFTP's `/outbox` shows.
        Endpoint(path: "/v1/outbox", method: .get, operation: .index),
        Endpoint(path: "/v1/outbox", method: .head, operation: .indexHead),
        Endpoint(path: "/v1/outbox/:name", method: .get, operation: .file),
        Endpoint(path: "/v1/outbox/:name", method: .head, operation: .fileHead),
    ]

    struct Endpoint: Sendable {
        enum Operation: Sendable {
            case list, listHead, download, downloadHead, receipt, inbox
            case index, indexHead, file, fileHead
            /// How the access line counts it: a `HEAD` of the list is recorded as a listing; a
            /// `HEAD` of a bundle sends no content, a look at it like an SFTP `stat`.
            var access: AccessRecord.Operation {
                switch self {
                case .list, .listHead, .index, .indexHead: .list
                case .download, .file: .download
                case .downloadHead, .fileHead: .other
                case .receipt: .receipt
                case .inbox: .upload
                }
            }
        }
        /// Hummingbird's spelling: `:id` is any one path segment.
        let path: String
        let method: HTTPRequest.Method
        let operation: Operation

        func matches(_ segments: [Substring]) -> Bool {
            let pattern = path.split(separator: "/")
            return pattern.count == segments.count && zip(pattern, segments).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
        }
    }

    /// The table's endpoints at a request path, in the table's order (empty: no such path); their
    /// methods are what the path serves.
    static func endpoints(servingPath path: String) -> [Endpoint] {
        let segments = path.split(separator: "/")
        return endpoints.filter { $0.matches(segments) }
    }

    func register(on router: Router<PartnerRequestContext>) {
        // Before the routes: it wraps them, and answers for what none of them serves.
        router.add(middleware: PartnerProblemMiddleware(routes: self))
        for endpoint in Self.endpoints {
            router.on(RouterPath(endpoint.path), method: endpoint.method) { request, context in
                context.access.operation = endpoint.operation.access
                let response = try await failClosed {
                    switch endpoint.operation {
                    case .list, .listHead: try await list(request, context)
                    case .index, .indexHead: try await index(request, context)
                    case .download, .file: try await download(request, context, endpoint, head: false)
                    case .downloadHead, .fileHead: try await download(request, context, endpoint, head: true)
                    case .receipt: try await receipt(request, context)
                    case .inbox: try await inbox(request, context)
                    }
                }
                // A HEAD answer is GET's status and fields without the content (RFC 9110 §9.3.2).
                return endpoint.method == .head ? response.createHeadResponse() : response
            }
        }
    }

    /// A request for a path the API does not serve (`allow` empty: `404`) or with a method its
    /// path does not serve (`405`, `Allow: <allow>`). The session rule is applied first, as on
    /// every route: a caller it refuses gets `403` and a recorded refusal, and learns nothing of
    /// which paths exist.
    func notServed(_ request: Request, _ context: PartnerRequestContext, allow: [HTTPRequest.Method]) async -> Response {
        if case .refused(let response) = await caller(request, context) { return response }
        guard !allow.isEmpty else {
            return Self.problem(.notFound, "There is no such resource: the partner API is described in openapi.yaml.")
        }
        let methods = allow.map(\.rawValue).joined(separator: ", ")
        var response = Self.problem(.methodNotAllowed, "This resource answers \(methods) only.")
        response.headers[.allow] = methods
        return response
    }

    /// Nothing is served or accepted when its audit entry cannot be written: `503`, and the
    /// partner retries later.
    private func failClosed(_ route: () async throws -> Response) async throws -> Response {
        do { return try await route() } catch let e as ClaimGateError where e.code == .auditUnavailable {
            logger.error("audit trail unavailable: request refused", metadata: ["error": "\(e.diagnostics ?? e.message)"])
            return Self.problem(for: .auditUnavailable)
        }
    }

    // MARK: Caller

    /// The partner session the client certificate opens for this request, or the response that
    /// refuses it. Every request is judged afresh by the exchange's session rule.
    private enum Caller { case session(PartnerSession), refused(Response) }

    private func caller(_ request: Request, _ context: PartnerRequestContext) async -> Caller {
        let origin = SessionOrigin(transport: .https, clientAddress: context.clientAddress)
        guard let der = await peerCertificates.der(of: context.channel) else {
            return .refused(Self.problem(.forbidden, "A client certificate is required."))
        }
        switch exchange.openSession(.clientCertificate(der: der), origin: origin) {
        case .success(let session):
            context.access.partner = session.partner
            return .session(session)
        case .failure(let refusal):
            // Recorded with its real reason (unknown, ambiguous, revoked, suspended…); the
            // partner sees only the status this transport gives it.
            let exchange = self.exchange
            try? await durably { exchange.refused(refusal.reason, subject: nil, action: .loginRefused, partner: refusal.partner, origin: origin) }
            return .refused(Self.problem(for: refusal.reason))
        }
    }

    // MARK: Routes

    private struct Listed: Encodable {
        let id, claim_id, purpose, created, expires, sha256: String
        let size: Int64
    }

    private func list(_ request: Request, _ context: PartnerRequestContext) async throws -> Response {
        let session: PartnerSession
        switch await caller(request, context) { case .session(let s): session = s; case .refused(let r): return r }
        let exchange = self.exchange
        // A first listing may hash files and store their digests: off the concurrency pool. The
        // listing is recorded before it is answered.
        let listed = try await durably {
            try exchange.listOutbox(session).map {
                Listed(id: $0.bundleID.description, claim_id: $0.claimID, purpose: $0.purpose,
                       created: Timestamp.format($0.created), expires: Timestamp.format($0.expires),
                       sha256: try exchange.fileDigest(of: $0), size: $0.size)
            }
        }
        return try Self.json(listed)
    }

    /// `GET /v1/outbox/`: the caller's bundles as an HTML index of `<id>.p7m` links (the same
    /// rule and the same `listing` entry as `GET /v1/bundles`). rclone's http backend lists a
    /// folder this way and asks each file's size and time with a `HEAD`.
    private func index(_ request: Request, _ context: PartnerRequestContext) async throws -> Response {
        let session: PartnerSession
        switch await caller(request, context) { case .session(let s): session = s; case .refused(let r): return r }
        let exchange = self.exchange
        let entries = try await durably { try exchange.listOutbox(session) }
        var html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>outbox</title></head><body>\n<h1>outbox</h1>\n<ul>\n"
        for e in entries {
            let name = Self.escapeHTML(e.name)
            html += "<li><a href=\"\(name)\">\(name)</a> \(e.size) bytes, expires \(Timestamp.format(e.expires))</li>\n"
        }
        html += "</ul>\n</body></html>\n"
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func escapeHTML(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// What one trip to the blocking pool decides about a download.
    private enum Prepared: Sendable {
        case unavailable
        /// A precondition says the client holds this bundle already (`304`); nothing recorded.
        case notModified(OutboxEntry, etag: String)
        /// A `HEAD`: available, nothing recorded.
        case head(OutboxEntry, etag: String)
        case unsatisfiable(OutboxEntry, etag: String)
        /// Recorded as started; `small` holds the bytes when the range is small enough to read at once.
        case ready(OutboxEntry, etag: String, range: ClosedRange<Int>, partial: Bool, small: ByteBuffer?)
    }

    /// Ranges up to this size are read in the same trip as the checks and the `started` entry,
    /// and sent from memory: a small bundle costs one thread hop, not one per file operation.
    static let inlineLimit = 1 << 20

    /// Larger bundles stream in chunks of this size: each chunk is a trip to the blocking pool
    /// and back, so 256 KiB costs half the trips of Hummingbird's 128 KiB default.
    static let chunkLength = 256 << 10

    /// The fields every answer about an available bundle carries (`200`, `206`, `HEAD`), as GET sends them.
    static func representationFields(_ entry: OutboxEntry, etag: String) -> HTTPFields {
        [.eTag: etag, .acceptRanges: "bytes", .contentType: "application/pkcs7-mime",
         .lastModified: HTTPDate.format(entry.created), .contentDisposition: "attachment; filename=\"\(entry.name)\""]
    }

    /// `GET` (or, with `head`, `HEAD`) of a bundle. The session rule first, then the bundle's
    /// availability (an unavailable one is `404` and recorded as refused, whatever the method).
    /// A `HEAD`, or a `GET` whose preconditions answer `304`, sends no content and records no
    /// download: availability is checked as an SFTP `stat` checks it (`PartnerExchange.bundle`).
    /// Otherwise the availability check and the `started` entry are one transaction.
    private func download(_ request: Request, _ context: PartnerRequestContext, _ endpoint: Endpoint, head: Bool) async throws -> Response {
        let session: PartnerSession
        switch await caller(request, context) { case .session(let s): session = s; case .refused(let r): return r }
        // `/v1/bundles/<id>`, or the file name `/v1/outbox/<id>.p7m`.
        let raw: String, parsed: BundleID?
        if let name = context.parameters.get("name") {
            raw = name
            parsed = name.hasSuffix(".p7m") ? BundleID(String(name.dropLast(4))) : nil
        } else {
            raw = context.parameters.get("id") ?? ""
            parsed = BundleID(raw)
        }
        // Range handling is defined for GET only (RFC 9110 §14.2): a HEAD describes the whole file.
        let rangeHeader = head ? nil : request.headers[.range]
        let conditions = ConditionalRequest(request.headers)
        let exchange = self.exchange
        let prepared: Prepared = try await durably {
            guard let id = parsed else {
                exchange.refused(.bundleUnavailable, subject: String(raw.prefix(80)), in: session)
                return .unavailable
            }
            var range = rangeHeader
            if head || conditions.needsValidators(range: rangeHeader != nil) {
                // The validators are needed before deciding whether anything is sent. A bundle's
                // file never changes, so they still hold when the download starts below.
                guard let entry = try exchange.bundle(id, for: session) else {
                    exchange.refused(.bundleUnavailable, subject: id.description, in: session)
                    return .unavailable
                }
                let etag = "\"" + (try exchange.fileDigest(of: entry)) + "\""
                if conditions.notModified(etag: etag, lastModified: entry.created) { return .notModified(entry, etag: etag) }
                if head { return .head(entry, etag: etag) }
                if !conditions.rangeApplies(etag: etag, lastModified: entry.created) { range = nil }
            }
            let rangeHeader = range
            // The availability check and the `started` entry are one transaction: recorded
            // before the first byte is served; no entry, no bytes.
            let start = try exchange.startDownload(id, for: session) { entry in
                switch RangeRequest.parse(rangeHeader, size: entry.size) {
                case .whole: 0
                case .range(let r): Int64(r.lowerBound)
                case .unsatisfiable: nil
                }
            }
            switch start {
            case .unavailable:
                return .unavailable
            case .unsatisfiable(let entry):
                return .unsatisfiable(entry, etag: "\"" + (try exchange.fileDigest(of: entry)) + "\"")
            case .started(let entry, _):
                do {
                    // The same reading as the offset just recorded: a range, or (ignored or
                    // absent) the whole file.
                    let requested = RangeRequest.parse(rangeHeader, size: entry.size)
                    let range: ClosedRange<Int>
                    if case .range(let r) = requested { range = r } else { range = 0...Int(max(0, entry.size - 1)) }
                    let etag = "\"" + (try exchange.fileDigest(of: entry)) + "\""
                    let small = range.count <= Self.inlineLimit ? try Self.read(entry.filePath, range) : nil
                    return .ready(entry, etag: etag, range: range, partial: requested != .whole, small: small)
                } catch {
                    exchange.downloadEnded(entry, for: session, served: ByteCoverage(), bytes: 0)
                    throw error
                }
            }
        }
        let entry: OutboxEntry, etag: String, range: ClosedRange<Int>, partial: Bool, small: ByteBuffer?
        switch prepared {
        case .unavailable:
            return Self.problem(for: .bundleUnavailable)
        case .notModified(let e, let tag):
            context.access.bundle = e.bundleID
            // No content; the length a 200 would have (RFC 9110 §8.6 allows it, and it spares
            // Hummingbird's `Content-Length: 0`).
            return Response(status: .notModified, headers: [.eTag: tag, .contentLength: "\(e.size)"])
        case .head(let e, let tag):
            context.access.bundle = e.bundleID
            var headers = Self.representationFields(e, etag: tag)
            headers[.contentLength] = "\(e.size)"
            return Response(status: .ok, headers: headers)
        case .unsatisfiable(let e, let tag):
            return Response(status: .rangeNotSatisfiable, headers: [.eTag: tag, .acceptRanges: "bytes", .contentRange: "bytes */\(e.size)"])
        case .ready(let e, let t, let r, let p, let b):
            (entry, etag, range, partial, small) = (e, t, r, p, b)
        }
        var headers = Self.representationFields(entry, etag: etag)
        if partial { headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(entry.size)" }
        let status: HTTPResponse.Status = partial ? .partialContent : .ok
        // Count what is actually written, and record the download when the body is done
        // (queued for the next transaction: the response does not wait for it).
        let counter = ByteCounter()
        let blocking = self.blocking
        let coversFile = range.lowerBound == 0 && Int64(range.upperBound) >= entry.size - 1
        let length = Int64(range.count)
        let access = context.access, client = context.clientAddress
        access.bundle = entry.bundleID
        access.deferred = true
        let recordEnd: @Sendable (Int64, Bool) -> Void = { bytes, _ in
            var served = ByteCoverage()
            served.add(Int64(range.lowerBound)..<Int64(range.lowerBound) + bytes)
            exchange.downloadEnded(entry, for: session, served: served, bytes: bytes)
            exchange.accessed(access.record(clientAddress: client, request: "GET " + endpoint.path, bytes: bytes,
                                            status: bytes == length ? status.code : 499))
        }
        let path = entry.filePath, eventLoop = context.channel.eventLoop
        let recorded = ResponseBody(contentLength: range.count) { writer in
            do {
                if let small {
                    try await writer.write(small)
                    counter.add(small.readableBytes)
                } else {
                    try await Self.stream(path, range, to: &writer, counter: counter, blocking: blocking, eventLoop: eventLoop)
                }
                try await writer.finish(nil)
                let bytes = counter.value
                recordEnd(bytes, coversFile && bytes == length)
            } catch {
                recordEnd(counter.value, false)
                throw error
            }
        }
        return Response(status: status, headers: headers, body: recorded)
    }

    /// Streams `range` of a file in `chunkLength` pieces, reading one piece ahead: while a piece
    /// is handed to the connection (whose writer waits while the socket is full), the next one is
    /// read on the blocking pool. So a download holds about three pieces whatever its size and
    /// however slow the client, and disk reads overlap network writes.
    static func stream(_ path: String, _ range: ClosedRange<Int>, to writer: inout some ResponseBodyWriter,
                       counter: ByteCounter, blocking: NIOThreadPool, eventLoop: any EventLoop) async throws {
        let fd = try await blocking.runIfActive { () throws -> Int32 in
            let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { throw ClaimGateError(.io, "Cannot open the bundle file.") }
            return fd
        }
        func read(at offset: Int) -> EventLoopFuture<ByteBuffer> {
            let want = min(chunkLength, range.upperBound - offset + 1)
            return blocking.runIfActive(eventLoop: eventLoop) { () throws -> ByteBuffer in
                var buffer = ByteBufferAllocator().buffer(capacity: want)
                let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { p in
                    max(0, pread(fd, p.baseAddress, want, off_t(offset)))
                }
                guard n > 0 else { throw ClaimGateError(.io, "The bundle file ended early.") }
                return buffer
            }
        }
        var pending: EventLoopFuture<ByteBuffer>? = read(at: range.lowerBound)
        var offset = range.lowerBound
        do {
            while let reading = pending {
                let chunk = try await reading.get()
                offset += chunk.readableBytes
                pending = offset <= range.upperBound ? read(at: offset) : nil
                try await writer.write(chunk)
                counter.add(chunk.readableBytes)
            }
        } catch {
            // The read ahead still holds the descriptor: let it finish before closing it.
            _ = try? await pending?.get()
            close(fd)
            throw error
        }
        close(fd)
    }

    /// Reads `range` of a file into one buffer (small ranges only).
    static func read(_ path: String, _ range: ClosedRange<Int>) throws -> ByteBuffer {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw ClaimGateError(.io, "Cannot open the bundle file.") }
        defer { close(fd) }
        var buffer = ByteBufferAllocator().buffer(capacity: range.count)
        var offset = range.lowerBound
        while offset <= range.upperBound {
            let want = range.upperBound - offset + 1
            let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { p in
                max(0, pread(fd, p.baseAddress, want, off_t(offset)))
            }
            guard n > 0 else { throw ClaimGateError(.io, "The bundle file ended early.") }
            offset += n
        }
        return buffer
    }

    private struct ReceiptBody: Decodable { let sha256: String }

    private func receipt(_ request: Request, _ context: PartnerRequestContext) async throws -> Response {
        let session: PartnerSession
        switch await caller(request, context) { case .session(let s): session = s; case .refused(let r): return r }
        let raw = context.parameters.get("id") ?? ""
        let data = try await request.body.collect(upTo: 64 << 10)
        let exchange = self.exchange
        guard let id = BundleID(raw) else {
            try? await durably { exchange.refused(.bundleUnavailable, subject: String(raw.prefix(80)), in: session) }
            return Self.problem(for: .bundleUnavailable)
        }
        context.access.bundle = id
        // A body that is not {"sha256": "…"} is a malformed receipt, refused and recorded by the
        // exchange like any other.
        let sha256 = (try? JSONDecoder().decode(ReceiptBody.self, from: Data(buffer: data)))?.sha256 ?? ""
        switch try await durably({ try exchange.acknowledge(id, sha256: sha256, for: session) }) {
        case .acknowledged(let entry):
            struct Acknowledged: Encodable { let id: String; let state: String }
            return try Self.json(Acknowledged(id: entry.bundleID.description, state: "acknowledged"))
        case .refused(let r):
            return Self.problem(for: r.reason, detail: r.message)
        }
    }

    /// An inbound report sealed by the partner (`claimgate seal-report`), processed like an SFTP
    /// upload: `201` when accepted, `422` with the reason when quarantined.
    private func inbox(_ request: Request, _ context: PartnerRequestContext) async throws -> Response {
        let session: PartnerSession
        switch await caller(request, context) { case .session(let s): session = s; case .refused(let r): return r }
        let exchange = self.exchange
        // A form upload (`curl -F`, a browser) would stage the form's boundaries and headers as
        // the report: refused before anything is staged, recorded as a refused upload.
        if Self.isMultipart(request.headers[.contentType]) {
            try? await durably { exchange.refused(.operationRefused, subject: Self.multipartUpload, action: .upload, in: session) }
            return Self.problem(for: .operationRefused, subject: Self.multipartUpload)
        }
        let name = "https-" + UUID().uuidString.lowercased() + ".p7m"
        // File work (create, write, fsync, link) runs on the blocking pool, never on the Swift
        // concurrency pool; each received buffer is one trip.
        let upload: any StagedUpload
        do {
            upload = try await durably { try exchange.beginUpload(named: name, for: session) }
        } catch let r as Refusal {
            // Refused (and recorded) by the exchange: the one table says what the partner sees.
            return Self.problem(for: r.reason)
        } catch {
            logger.error("an inbox upload could not be created", metadata: ["error": "\(error)"])
            return Self.problem(.internalServerError, "The upload could not be stored; try again later.")
        }
        let report: InboundReport
        do {
            var offset: Int64 = 0
            for try await buffer in request.body {
                let at = offset
                offset += Int64(buffer.readableBytes)
                try await durably { try buffer.withUnsafeReadableBytes { try upload.write($0, at: at) } }
                context.access.bytes = offset
            }
            report = try await durably { try upload.commit() }
        } catch let r as Refusal {
            try? await durably { upload.discard(interrupted: false) }
            return Self.problem(for: r.reason, detail: "Reports may be at most \(exchange.maxUploadBytes) bytes.")
        } catch let e as ClaimGateError {
            // Our own: the file could not be stored, or the upload not recorded (both recorded or
            // logged by the exchange).
            try? await durably { upload.discard(interrupted: false) }
            throw e
        } catch {
            // The request body ended early.
            try? await durably { upload.discard(interrupted: true) }
            throw error
        }
        guard report.state == .accepted else {
            return Self.problem(.unprocessableContent,
                "The report was quarantined (inbound \(report.id.uuidString.lowercased())): \(report.reason ?? "it could not be processed.")")
        }
        struct Received: Encodable { let id: String; let state: String; let bundle_id: String? }
        return try Self.json(Received(id: report.id.uuidString.lowercased(), state: report.state.rawValue,
                                      bundle_id: report.bundleID?.description), status: .created)
    }

    /// The subject a refused multipart upload is recorded with (`operation-refused: multipart upload`).
    static let multipartUpload = "multipart upload"

    /// Whether a `Content-Type` is a multipart one (`multipart/form-data; boundary=…`, any
    /// `multipart/*`), in any case.
    static func isMultipart(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        return contentType.trimmingCharacters(in: .whitespaces).lowercased().hasPrefix("multipart/")
    }

    // MARK: Helpers

    /// What a partner sees of a refusal over HTTPS: one table, for every route. The sentence says
    /// what to do; details stay in the audit trail and the server log. `subject` is what the
    /// refusal is recorded with, for the refusals whose answer depends on it.
    static func problem(for reason: Refusal.Reason, subject: String? = nil, detail: String? = nil) -> Response {
        switch reason {
        case .operationRefused where subject == multipartUpload:
            return problem(.unsupportedMediaType, """
                Send the sealed report file itself as the request body, not a form upload (multipart): \
                curl --data-binary @report.p7m -H 'Content-Type: application/pkcs7-mime' https://GATEWAY/v1/inbox
                """)
        case .bundleUnavailable, .bundleExpired:
            return problem(.notFound, "No such bundle is available to you.")
        case .malformedReceipt:
            return problem(.badRequest, "Send {\"sha256\": \"<hex SHA-256 of the bundle file you received>\"}.")
        case .digestMismatch:
            return problem(.unprocessableContent, detail ?? "That SHA-256 is not the bundle's: download it again and check it before acknowledging.")
        case .uploadTooLarge:
            return problem(.contentTooLarge, detail ?? "The upload is larger than the gateway accepts.")
        case .auditUnavailable:
            var r = problem(.serviceUnavailable, "The gateway cannot record this request right now, so it was not served. Try again later.")
            r.headers[.retryAfter] = "30"
            return r
        case .partnerSuspended, .partnerRemoved, .agreementEnded, .unknownPartner, .unknownKey, .transportNotAllowed,
             .certificateAmbiguous, .certificateNotForClients, .certificateRevoked, .crlExpired, .crlUnusable:
            return problem(.forbidden, "This client certificate is not allowed to use the API.")
        default:
            return problem(.forbidden, "This request is not allowed.")
        }
    }
    /// What a partner sees of an error a route threw instead of answering: the status of an HTTP
    /// error (a body past the route's limit is `413`), else `500`; the error goes to the log only.
    func problem(thrown error: any Error) -> Response {
        if let e = error as? any HTTPResponseError {
            switch e.status {
            case .notFound: return Self.problem(.notFound, "There is no such resource: the partner API is described in openapi.yaml.")
            case .contentTooLarge: return Self.problem(.contentTooLarge, "The request body is larger than this resource accepts.")
            default: return Self.problem(e.status, "The request could not be served.")
            }
        }
        logger.error("a partner API request failed", metadata: ["error": "\(error)"])
        return Self.problem(.internalServerError, "The request could not be completed; try again later.")
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: try e.encode(value))))
    }

    /// An RFC 9457 problem document.
    static func problem(_ status: HTTPResponse.Status, _ detail: String) -> Response {
        struct Problem: Encodable { let type: String; let title: String; let status: Int; let detail: String }
        let body = (try? JSONEncoder().encode(Problem(type: "about:blank", title: status.reasonPhrase, status: status.code, detail: detail))) ?? Data()
        return Response(status: status, headers: [.contentType: "application/problem+json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Bytes written so far, shared between the response writer and the recording step.
final class ByteCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var total: Int64 = 0
    func add(_ n: Int) { lock.withLock { total += Int64(n) } }
    var value: Int64 { lock.withLock { total } }
}

/// The client certificate of each open connection, read from the TLS handler once per
/// connection: a kept-alive connection's later requests need no trip to its event loop.
/// Who the certificate belongs to is still decided on every request (`openSession`).
final class PeerCertificates: @unchecked Sendable {
    private let lock = NSLock()
    private var byConnection: [ObjectIdentifier: [UInt8]] = [:]

    func der(of channel: any Channel) async -> [UInt8]? {
        let key = ObjectIdentifier(channel)
        if let known = lock.withLock({ byConnection[key] }) { return known }
        guard let peer = try? await channel.nioSSL_peerCertificate().get(), let der = try? peer.toDERBytes() else { return nil }
        lock.withLock { byConnection[key] = der }
        // Forgotten when the connection closes (at once if it already has), before the channel
        // object can be freed and its identifier reused.
        channel.closeFuture.whenComplete { [self] _ in lock.withLock { _ = byConnection.removeValue(forKey: key) } }
        return der
    }
}
