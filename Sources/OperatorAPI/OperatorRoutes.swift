import ClaimGateCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import Operations

/// The operator API's routes: each translates a request into one `Gateway` operation, acting as
/// the operator the client certificate names, and renders its result as the command line's
/// `--json` does. Policy is the operation's; what an error looks like is `OperatorProblem`'s.
struct OperatorRoutes: Sendable {
    let gateway: Gateway
    let uploads: OperatorUploads
    let logger: Logger
    /// Threads for the operations (files, database, durable commits): the concurrency pool
    /// never blocks on them.
    let blocking: NIOThreadPool
    let maxUploadBytes: Int64

    /// Every route, in one table: what `register` adds, what `404` and `405` are judged by, and
    /// what docs/operator-api.yaml describes (tested). Paths use Hummingbird's `:name` segments.
    static let endpoints: [Endpoint] = [
        Endpoint(.get, "/v1/bundles", .bundleList),
        Endpoint(.get, "/v1/bundles/:id", .bundleShow),
        Endpoint(.post, "/v1/bundles/:id/recall", .bundleRecall),
        Endpoint(.post, "/v1/uploads", .upload),
        Endpoint(.post, "/v1/send", .send),
        Endpoint(.post, "/v1/seal", .seal),
        Endpoint(.get, "/v1/deliveries", .deliveries),
        Endpoint(.post, "/v1/deliveries/:bundle/retry", .deliveryRetry),
        Endpoint(.post, "/v1/deliveries/:bundle/cancel", .deliveryCancel),
        Endpoint(.get, "/v1/inbox", .inboxList),
        Endpoint(.get, "/v1/inbox/:id", .inboxShow),
        Endpoint(.get, "/v1/inbox/:id/documents/:name", .inboxDocument),
        Endpoint(.get, "/v1/inbox/:id/manifest", .inboxManifest),
        Endpoint(.get, "/v1/partners", .partnerList),
        Endpoint(.post, "/v1/partners", .partnerAdd),
        Endpoint(.get, "/v1/partners/:id", .partnerShow),
        Endpoint(.put, "/v1/partners/:id", .partnerUpdate),
        Endpoint(.post, "/v1/partners/:id/rotate", .partnerRotate),
        Endpoint(.post, "/v1/partners/:id/suspend", .partnerSuspend),
        Endpoint(.post, "/v1/partners/:id/resume", .partnerResume),
        Endpoint(.post, "/v1/partners/:id/remove", .partnerRemove),
        Endpoint(.get, "/v1/audit/verify", .auditVerify),
        Endpoint(.get, "/v1/audit/export", .auditExport),
        Endpoint(.get, "/v1/audit/report", .auditReport),
        Endpoint(.get, "/v1/audit/impact", .auditImpact),
        Endpoint(.get, "/v1/doctor", .doctor),
        Endpoint(.post, "/v1/purge", .purge),
        Endpoint(.get, "/v1/operators", .operatorList),
        Endpoint(.post, "/v1/operators", .operatorAdd),
        Endpoint(.get, "/v1/operators/:name", .operatorShow),
        Endpoint(.get, "/v1/operators/:name/certificate", .operatorCertificate),
        Endpoint(.post, "/v1/operators/:name/suspend", .operatorSuspend),
        Endpoint(.post, "/v1/operators/:name/resume", .operatorResume),
        Endpoint(.post, "/v1/operators/:name/remove", .operatorRemove),
        Endpoint(.post, "/v1/operators/:name/grant", .operatorGrant),
        Endpoint(.post, "/v1/operators/:name/revoke", .operatorRevoke),
        Endpoint(.post, "/v1/operators/:name/password", .operatorPassword),
        Endpoint(.post, "/v1/operators/:name/totp", .operatorTOTP),
        Endpoint(.get, "/v1/pending", .pendingList),
        Endpoint(.get, "/v1/pending/:id", .pendingShow),
        Endpoint(.post, "/v1/pending/:id/withdraw", .pendingWithdraw),
        Endpoint(.post, "/v1/pending/:id/approve", .pendingApprove),
    ]

    struct Endpoint: Sendable {
        enum Operation: Sendable {
            case bundleList, bundleShow, bundleRecall, upload, send, seal, deliveries, deliveryRetry, deliveryCancel
            case inboxList, inboxShow, inboxDocument, inboxManifest
            case partnerList, partnerShow, partnerSuspend, partnerResume, partnerRemove
            case partnerAdd, partnerUpdate, partnerRotate
            case pendingList, pendingShow, pendingWithdraw, pendingApprove
            case auditVerify, auditExport, auditReport, auditImpact, doctor, purge
            case operatorList, operatorAdd, operatorShow, operatorSuspend, operatorResume, operatorRemove, operatorGrant, operatorRevoke
            case operatorCertificate, operatorPassword, operatorTOTP
        }
        let method: HTTPRequest.Method
        let path: String
        let operation: Operation
        init(_ method: HTTPRequest.Method, _ path: String, _ operation: Operation) {
            self.method = method; self.path = path; self.operation = operation
        }

        func matches(_ segments: [Substring]) -> Bool {
            let pattern = path.split(separator: "/")
            return pattern.count == segments.count && zip(pattern, segments).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
        }
    }

    /// The table's endpoints at a request path (empty: no such path).
    static func endpoints(servingPath path: String) -> [Endpoint] {
        let segments = path.split(separator: "/")
        return endpoints.filter { $0.matches(segments) }
    }

    func register(on router: Router<OperatorRequestContext>) {
        router.add(middleware: OperatorProblemMiddleware(logger: logger))
        for endpoint in Self.endpoints {
            router.on(RouterPath(endpoint.path), method: endpoint.method) { request, context in
                let principal = try await caller(context)
                return try await handle(endpoint.operation, request, context, principal)
            }
        }
    }

    /// The operator this request acts as, named by its client certificate.
    private func caller(_ context: OperatorRequestContext) async throws -> Principal {
        guard let der = await context.clientCertificateDER() else {
            throw ClaimGateError(.notPermitted, "A client certificate from the operator CA is required.", refusal: .unknownOperator)
        }
        return try gateway.operatorPrincipal(certificateDER: der)
    }

    /// Runs an operation on the blocking pool.
    private func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await blocking.runIfActive(body)
    }

    private func handle(_ operation: Endpoint.Operation, _ request: Request, _ context: OperatorRequestContext,
                        _ principal: Principal) async throws -> Response {
        let g = gateway
        let query = request.uri.queryParameters
        func q(_ name: String) -> String? { query.get(name) }
        let id = context.parameters.get("id") ?? "", name = context.parameters.get("name") ?? ""
        let bundle = context.parameters.get("bundle") ?? ""
        switch operation {
        case .bundleList:
            let partner = q("partner")
            return try await json { try g.bundles(partner: partner, by: principal).map { BundleView($0, withDocuments: false) } }
        case .bundleShow:
            return try await json {
                let (b, expired, history) = try g.bundleWithHistory(id, by: principal)
                var view = BundleView(b, withDocuments: true)
                if expired { view.state = "expired" }
                return BundleWithHistory(bundle: view, history: history.map(StoredEventView.init))
            }
        case .bundleRecall:
            let body = try await decode(RecallBody.self, request, context)
            return try await json { BundleView(try g.recall(bundle: id, reason: body.reason, by: principal), withDocuments: false) }
        case .upload:
            return try await upload(request, principal)
        case .send:
            let body = try await decode(SealBody.self, request, context)
            return try await seal(body, to: .outbox, principal)
        case .seal:
            let body = try await decode(SealBody.self, request, context)
            return try await seal(body, to: nil, principal)
        case .deliveries:
            let state = try q("state").map { raw in
                guard let s = DeliveryState(rawValue: raw) else {
                    throw ClaimGateError(.invalidArgument, "state '\(raw.prefix(40))' is not a delivery state: use \(DeliveryState.allCases.map(\.rawValue).joined(separator: ", ")).")
                }
                return s
            }
            let partner = q("partner")
            return try await json { try g.deliveries(state: state, partner: partner, by: principal).map(DeliveryView.init) }
        case .deliveryRetry:
            return try await json { DeliveryView(try g.retryDelivery(of: bundle, by: principal)) }
        case .deliveryCancel:
            let body = try await decode(RecallBody.self, request, context)
            return try await json { DeliveryView(try g.cancelDelivery(of: bundle, reason: body.reason, by: principal)) }
        case .inboxList:
            let partner = q("partner")
            return try await json { try g.inboundReports(partner: partner, by: principal).map(InboundView.init) }
        case .inboxShow:
            return try await json { InboundView(try g.inboundReport(id, by: principal)) }
        case .inboxDocument:
            let file = try await run { try g.exportInboundDocument(id, named: name, by: principal) }
            return try await stream(file.path, size: file.size, contentType: "application/octet-stream",
                                    headers: [.contentDisposition: "attachment"], removeAfter: false)
        case .inboxManifest:
            let file = try await run { try g.exportInboundManifest(id, by: principal) }
            return try await stream(file.path, size: file.size, contentType: "application/json", headers: [:], removeAfter: false)
        case .partnerList:
            return try await json { try g.partners(by: principal).map(g.view) }
        case .partnerShow:
            return try await json { g.view(try g.partner(id, by: principal)) }
        case .partnerSuspend:
            let body = try await decode(ReasonBody.self, request, context, empty: ReasonBody())
            return try await json {
                try g.suspendPartner(id, reason: body.reason, by: principal)
                return g.view(try g.partner(id))
            }
        case .partnerResume:
            return try await json {
                try g.resumePartner(id, by: principal)
                return g.view(try g.partner(id))
            }
        case .partnerRemove:
            let body = try await decode(RemoveBody.self, request, context, empty: RemoveBody())
            return try await change {
                try g.removePartner(id, force: body.force ?? false, reason: body.reason, by: principal)
            } view: { _ in g.view(try g.partner(id)) }
        case .partnerAdd:
            let body = try await decode(AgreementBody.self, request, context, limit: Self.filesBodyLimit)
            let (path, files) = try Self.sentFiles(body.agreement_file, "agreement_file", body.files)
            return try await change(status: .created) { try g.addPartner(agreementFile: path, files: files, by: principal) } view: { g.view($0) }
        case .partnerUpdate:
            let body = try await decode(AgreementBody.self, request, context, limit: Self.filesBodyLimit)
            let (path, files) = try Self.sentFiles(body.agreement_file, "agreement_file", body.files)
            return try await change {
                try g.updatePartner(agreementFile: path, files: files, expecting: id, by: principal)
            } view: { g.view($0) }
        case .partnerRotate:
            let body = try await decode(RotateBody.self, request, context, limit: Self.filesBodyLimit)
            let (path, files) = try Self.sentFiles(body.encryption_file, "encryption_file", body.files)
            let from = try body.from.map { raw in
                do { return try CalendarDay(parsing: raw) } catch {
                    throw ClaimGateError(.invalidArgument, "from '\(raw.prefix(40))' is not a date: use YYYY-MM-DD (a UTC day).")
                }
            }
            return try await change {
                try g.rotateEncryption(of: id, encryptionFile: path, files: files, from: from, by: principal)
            } view: { RotationView(partner: g.view($0.partner), fingerprint: $0.fingerprint,
                                   from: $0.partner.agreement.certificates.nextEncryptionFrom?.description) }
        case .pendingList:
            let all = try Self.flag(q("all"), "all")
            return try await json {
                let now = g.clock.now
                return try g.pendingChanges(by: principal).filter { all || [.pending, .expired].contains($0.state(at: now)) }
                    .map { PendingChangeView($0, now: now) }
            }
        case .pendingShow:
            return try await json { PendingChangeView(try g.previewChange(id, by: principal), now: g.clock.now) }
        case .pendingWithdraw:
            return try await json { PendingChangeView(try g.withdrawChange(id, by: principal), now: g.clock.now) }
        case .pendingApprove:
            return try await json {
                let (change, applied) = try g.approveChange(id, keysLeaving: false, by: principal)
                return ApprovedChange(change: PendingChangeView(change, now: g.clock.now), applied: AppliedView(applied, gateway: g))
            }
        case .auditVerify:
            return try await json { AuditVerificationView(try g.verifyAuditTrail(by: principal)) }
        case .auditExport:
            let since = try q("since").map { try Self.time($0, "since") }, until = try q("until").map { try Self.time($0, "until") }
            let uploads = self.uploads
            let (path, summary) = try await run { () throws -> (String, AuditExportSummary) in
                let path = try uploads.workFile(suffix: ".jsonl")
                do { return (path, try g.exportAuditTrail(to: path, since: since, until: until, by: principal)) } catch {
                    unlink(path)
                    if let t = error as? AuditTrailTampered { throw ClaimGateError(.io, t.message) }
                    throw error
                }
            }
            // How many entries it holds, for `claimgate audit export -o FILE` to say so.
            return try await stream(path, size: nil, contentType: "application/jsonl", headers: [.auditEntries: String(summary.entries)],
                                    removeAfter: true)
        case .auditReport:
            guard let raw = q("month") else { throw ClaimGateError(.invalidArgument, "Name the month: ?month=YYYY-MM.") }
            let month = try ReportMonth(parsing: raw), partner = q("partner")
            let format = try q("format").map { raw in
                guard let f = AccessReviewFormat(rawValue: raw) else { throw ClaimGateError(.invalidArgument, "format '\(raw.prefix(20))' is not supported: use json, md or csv.") }
                return f
            } ?? .json
            guard format != .json else { return try await json { try g.auditReport(month: month, partner: partner, by: principal) } }
            // Markdown and CSV as `audit report --format` prints them.
            let text = try await run { try g.auditReport(month: month, partner: partner, by: principal).rendered(as: format) }
            return Response(status: .ok, headers: [.contentType: format == .csv ? "text/csv; charset=utf-8" : "text/markdown; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        case .auditImpact:
            let format = try q("format").map { raw in
                guard let f = ImpactFormat(rawValue: raw) else { throw ClaimGateError(.invalidArgument, "format '\(raw.prefix(20))' is not supported: use json or csv.") }
                return f
            } ?? .json
            let partnerRaw = q("partner"), claim = q("claim")
            let since = try q("since").map { try Self.time($0, "since") }
            let uploads = self.uploads
            let path = try await run { () throws -> String in
                let query = ImpactQuery(partner: try partnerRaw.map { try g.partner($0, by: principal).id }, claim: claim, since: since)
                let path = try uploads.workFile(suffix: ".impact")
                _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
                guard let out = FileHandle(forWritingAtPath: path) else {
                    throw ClaimGateError(.io, "Cannot write the impact report in the scratch folder.")
                }
                defer { try? out.close() }
                do { try g.auditImpact(query, format: format, by: principal) { out.write(Data($0.utf8)) } } catch {
                    unlink(path)
                    throw error
                }
                return path
            }
            return try await stream(path, size: nil, contentType: format == .csv ? "text/csv" : "application/json", headers: [:], removeAfter: true)
        case .doctor:
            let days = try q("days").map { raw in
                guard let d = Int(raw), d >= 0, d <= 3650 else { throw ClaimGateError(.invalidArgument, "days '\(raw.prefix(20))' is not a number of days from 0 to 3650.") }
                return d
            } ?? 30
            return try await json { try g.doctor(withinDays: days, by: principal) }
        case .purge:
            let body = try await decode(PurgeBody.self, request, context, empty: PurgeBody())
            return try await json {
                let r = try g.purge(inboundRetentionDays: body.inbound_retention_days ?? 90, by: principal)
                return PurgeView(bundles: r.bundles.map(\.description), inbound_reports: r.inboundReports.map { $0.uuidString.lowercased() },
                                 bytes: r.bytes)
            }
        case .operatorList:
            return try await json { try g.operators(by: principal).map(OperatorView.init) }
        case .operatorAdd:
            let body = try await decode(AddOperatorBody.self, request, context)
            let roles = try Set(body.roles.map { raw in
                guard let r = Role(rawValue: raw) else { throw ClaimGateError(.invalidArgument, "'\(raw.prefix(40))' is not a role: use \(Role.allCases.map(\.rawValue).joined(separator: ", ")).") }
                return r
            })
            let grants = try Set((body.grants ?? []).map { raw in
                guard let g = OperatorGrant(rawValue: raw) else { throw ClaimGateError(.invalidArgument, "'\(raw.prefix(40))' is not a grant: use \(OperatorGrant.allCases.map(\.rawValue).joined(separator: ", ")).") }
                return g
            })
            return try await change(status: .created) {
                try g.addOperator(body.name, roles: roles, grants: grants, partners: body.partners, days: body.days ?? 365,
                                  publicKeyPEM: body.public_key, by: principal)
            } view: { AddedOperator(operator: OperatorView($0.operator), certificate_chain_pem: $0.certificateChainPEM) }
        case .operatorShow:
            return try await json { try g.operatorView(name, by: principal) }
        case .operatorCertificate:
            let chain = try await run { try g.operatorCertificateChainPEM(name, by: principal) }
            return Response(status: .ok, headers: [.contentType: "application/pem-certificate-chain"],
                            body: .init(byteBuffer: ByteBuffer(string: chain)))
        case .operatorSuspend:
            return try await json { OperatorView(try g.suspendOperator(name, by: principal)) }
        case .operatorResume:
            return try await json { OperatorView(try g.resumeOperator(name, by: principal)) }
        case .operatorRemove:
            return try await json { OperatorView(try g.removeOperator(name, by: principal)) }
        case .operatorPassword:
            let body = try await decode(PasswordBody.self, request, context)
            return try await json {
                try g.setConsolePassword(name, password: body.password, by: principal)
                return OperatorView(try g.operator(name, by: principal))
            }
        case .operatorTOTP:
            return try await json { TOTPEnrolled(otpauth_uri: try g.enrolConsoleTOTP(name, by: principal)) }
        case .operatorGrant, .operatorRevoke:
            let body = try await decode(RightBody.self, request, context)
            let right = try OperatorRight(parsing: body.right)
            if operation == .operatorGrant {
                return try await change { try g.grantOperator(name, right, by: principal) } view: { OperatorView($0) }
            }
            return try await json { OperatorView(try g.revokeOperator(name, right, by: principal)) }
        }
    }

    // MARK: Uploads, send and seal

    /// Streams the request body to a new upload file, piece by piece (never the whole document
    /// in memory), syncs it, and answers its id.
    private func upload(_ request: Request, _ principal: Principal) async throws -> Response {
        let g = gateway, uploads = self.uploads, limit = maxUploadBytes
        try await run { try g.authorizeUpload(by: principal) }
        let writer = try await run { () throws -> UploadWriter in
            uploads.sweep()
            return try uploads.create(for: principal)
        }
        let sha256: String
        do {
            for try await buffer in request.body {
                guard writer.bytes + Int64(buffer.readableBytes) <= limit else {
                    throw ClaimGateError(.invalidArgument, "The document is larger than the \(limit) bytes an upload may carry.")
                }
                let piece = buffer
                try await run { try piece.withUnsafeReadableBytes { try writer.write($0) } }
            }
            sha256 = try await run { try writer.finish() }
        } catch {
            writer.discard()
            throw error
        }
        return try Self.json(UploadView(upload: writer.id, bytes: writer.bytes, sha256: sha256), status: .created)
    }

    /// Seals the uploads a `send` or `seal` names. `send` queues the bundle for the partner and
    /// answers its record; `seal` answers the sealed file itself, streamed, and keeps no copy.
    private func seal(_ body: SealBody, to destination: SealDestination?, _ principal: Principal) async throws -> Response {
        let g = gateway, uploads = self.uploads
        let expiry: ExpirySpec
        switch (body.expires, body.ttl) {
        case (let e?, nil): expiry = try ExpirySpec.expires(e)
        case (nil, let t?): expiry = try ExpirySpec.ttl(t)
        default: throw ClaimGateError(.invalidArgument, "Give exactly one of expires (a date) and ttl (such as 7d).")
        }
        let (record, output) = try await run { () throws -> (BundleRecord, String?) in
            let staged = try uploads.stage(body.documents.map { ($0.upload, $0.name) }, for: principal)
            defer { uploads.unstage(staged.folder) }
            let order = SealOrder(partner: body.partner, claimID: body.claim, purpose: body.purpose, expiry: expiry,
                                  consentReference: body.consent, metadata: body.metadata ?? [:], documents: staged.paths)
            let out = destination == nil ? try uploads.workFile(suffix: ".p7m") : nil
            let record = try g.seal(order, to: out.map { .file($0) } ?? .outbox, by: principal)
            for d in body.documents { uploads.discard(d.upload, for: principal) }
            return (record, out)
        }
        guard let output else { return try await json(status: .created) { BundleView(record, withDocuments: true) } }
        return try await stream(output, size: record.fileSize, contentType: "application/pkcs7-mime; smime-type=enveloped-data",
                                headers: [.contentDisposition: "attachment; filename=\"\(record.id.description).p7m\"",
                                          .bundleID: record.id.description],
                                removeAfter: true)
    }

    // MARK: Rendering

    /// Streams a file in pieces read on the blocking pool; removes it afterwards when asked (a
    /// work file), whether or not the client read it all.
    private func stream(_ path: String, size: Int64?, contentType: String, headers extra: HTTPFields,
                        removeAfter: Bool) async throws -> Response {
        let blocking = self.blocking
        let (fd, length) = try await run { () throws -> (Int32, Int64) in
            let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { throw ClaimGateError(.io, "Cannot open the file to send.") }
            var st = stat()
            guard fstat(fd, &st) == 0 else { close(fd); throw ClaimGateError(.io, "Cannot read the file to send.") }
            if removeAfter { unlink(path) }   // open: it lives until the descriptor closes
            return (fd, Int64(st.st_size))
        }
        var headers: HTTPFields = [.contentType: contentType]
        headers.append(contentsOf: extra)
        let body = ResponseBody(contentLength: Int(size ?? length)) { writer in
            defer { close(fd) }
            var offset: Int64 = 0
            while offset < length {
                let want = Int(min(Int64(1 << 20), length - offset)), at = offset
                let chunk = try await blocking.runIfActive { () throws -> ByteBuffer in
                    var buffer = ByteBufferAllocator().buffer(capacity: want)
                    let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { p in max(0, pread(fd, p.baseAddress, want, off_t(at))) }
                    guard n > 0 else { throw ClaimGateError(.io, "The file ended early.") }
                    return buffer
                }
                offset += Int64(chunk.readableBytes)
                try await writer.write(chunk)
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// Runs an operation on the blocking pool and renders its result as JSON (as `--json` prints it).
    private func json<T: Encodable>(status: HTTPResponse.Status = .ok, _ body: @escaping @Sendable () throws -> T) async throws -> Response {
        let text = try await run { try JSONOutput.string(try body()) }
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
    }

    /// A change that four eyes may keep waiting (docs/operators.md): `status` (200) with `view`
    /// of what was applied, or `202` with `{"pending": "ID", "change": …}`: the id the command
    /// line prints, and the change as `pending --json` shows it (action, target, expiry).
    private func change<T: Sendable, V: Encodable>(status: HTTPResponse.Status = .ok,
                                                   _ body: @escaping @Sendable () throws -> ChangeOutcome<T>,
                                                   view: @escaping @Sendable (T) throws -> V) async throws -> Response {
        let g = gateway
        let (text, pending) = try await run { () throws -> (String, Bool) in
            switch try body() {
            case .applied(let value): return (try JSONOutput.string(try view(value)), false)
            case .pending(let c):
                return (try JSONOutput.string(PendingAnswer(pending: c.id.description, change: PendingChangeView(c, now: g.clock.now))), true)
            }
        }
        return Response(status: pending ? .accepted : status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: try JSONOutput.string(value) + "\n")))
    }

    /// Decodes a JSON body (at most `limit`, 1 MiB unless the route carries files); `empty`
    /// stands for a request without one.
    private func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ context: OperatorRequestContext,
                                      empty: T? = nil, limit: Int = 1 << 20) async throws -> T {
        let data: ByteBuffer
        do { data = try await request.body.collect(upTo: limit) } catch {
            throw ClaimGateError(.invalidArgument, "The request body is over the \(limit >> 20) MiB this route takes.")
        }
        if data.readableBytes == 0, let empty { return empty }
        do { return try JSONDecoder().decode(T.self, from: Data(buffer: data)) } catch {
            throw ClaimGateError(.invalidArgument, "The request body is not the JSON this route takes (\(Self.describe(error))): see docs/operator-api.yaml.")
        }
    }

    /// A body that carries files (an agreement and the files it names, a certificate) may be this
    /// large: an agreement file and its certificates, keys and CRLs (up to 16 MiB each), in base64.
    static let filesBodyLimit = 48 << 20

    /// The files a client sent (`{"/abs/path": "<base64>"}`) for the operations to replay: the
    /// server never reads a client's path from its own disk. Every path must be absolute (as the
    /// client resolved it), and the file named must be among them.
    static func sentFiles(_ path: String, _ field: String, _ files: [String: String]) throws -> (String, InputFiles) {
        guard path.hasPrefix("/") else {
            throw ClaimGateError(.invalidArgument, "\(field) '\(path.prefix(80))' is not an absolute path: send the path as the client resolved it, with the file in \"files\".")
        }
        var decoded: [String: Data] = [:]
        for (key, value) in files {
            guard key.hasPrefix("/") else {
                throw ClaimGateError(.invalidArgument, "files: '\(key.prefix(80))' is not an absolute path: key each file by the absolute path the client resolved.")
            }
            guard let data = Data(base64Encoded: value, options: .ignoreUnknownCharacters) else {
                throw ClaimGateError(.invalidArgument, "files: '\(key.prefix(80))' is not base64: send each file's bytes in base64.")
            }
            decoded[FileSystem.absolute(key)] = data
        }
        return (path, InputFiles(kept: decoded, missing: "is not among the files sent with the request: add it to \"files\", keyed by its absolute path (the gateway never reads a client's paths from its own disk)"))
    }

    /// A query flag: absent, `true` or `false`.
    static func flag(_ raw: String?, _ name: String) throws -> Bool {
        switch raw {
        case nil, "false": return false
        case "true": return true
        case let other?: throw ClaimGateError(.invalidArgument, "\(name) '\(other.prefix(20))' is not true or false.")
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, _)?: return "'\(key.stringValue)' is missing"
        case .typeMismatch(_, let c)?, .valueNotFound(_, let c)?: return "'\(c.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type"
        default: return "not valid JSON"
        }
    }

    static func time(_ raw: String, _ name: String) throws -> Date {
        if raw.utf8.count == 10, let day = try? CalendarDay(parsing: raw) { return day.startOfDay }
        do { return try Timestamp.parseStrict(raw) } catch {
            throw ClaimGateError(.invalidArgument, "\(name) '\(raw.prefix(40))' is not a time: use YYYY-MM-DD or an ISO-8601 datetime (UTC).")
        }
    }
}

// MARK: Bodies and views

extension HTTPFields.Element.Name {
    /// The id of the bundle a sealed file holds (the name the partner push uses too).
    static let bundleID = Self("Bundle-Id")!
    /// How many audit entries an export holds.
    static let auditEntries = Self("Audit-Entries")!
}

struct RecallBody: Decodable, Sendable { let reason: String }
struct PasswordBody: Decodable, Sendable { let password: String }
struct TOTPEnrolled: Encodable, Sendable { let otpauth_uri: String }
struct ReasonBody: Decodable, Sendable { var reason: String? = nil }
struct RemoveBody: Decodable, Sendable { var force: Bool? = nil; var reason: String? = nil }
struct PurgeBody: Decodable, Sendable { var inbound_retention_days: Int? = nil }
struct RightBody: Decodable, Sendable { let right: String }
struct AddOperatorBody: Decodable, Sendable {
    let name: String
    let roles: [String]
    let grants: [String]?
    let partners: [String]?
    let days: Int?
    /// A PEM public key or certificate request: the private key stays with the operator.
    let public_key: String
}
struct AddedOperator: Encodable { let `operator`: OperatorView; let certificate_chain_pem: String }
/// `POST /v1/partners`, `PUT /v1/partners/{id}`: the agreement file and every file it names, each
/// keyed by the absolute path the client resolved, in base64.
struct AgreementBody: Decodable, Sendable { let agreement_file: String; let files: [String: String] }
/// `POST /v1/partners/{id}/rotate`: the new certificate file (keyed in `files` as above) and the day.
struct RotateBody: Decodable, Sendable { let encryption_file: String; let files: [String: String]; let from: String? }
struct RotationView: Encodable {
    let partner: PartnerView
    let fingerprint: String
    let from: String?
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(partner, forKey: .partner)
        try c.encode(fingerprint, forKey: .fingerprint)
        try c.encode(from, forKey: .from)   // null, not absent
    }
    enum Keys: String, CodingKey { case partner, fingerprint, from }
}
/// A change four eyes keeps waiting: `202`.
struct PendingAnswer: Encodable { let pending: String; let change: PendingChangeView }
/// `POST /v1/pending/{id}/approve`: the change as settled, and what it did.
struct ApprovedChange: Encodable { let change: PendingChangeView; let applied: AppliedView }
/// What an approved change did, as `claimgate approve` prints it; never a private key.
struct AppliedView: Encodable {
    let kind: String
    let partner: PartnerView?
    let partnerID: String?
    let `operator`: OperatorView?
    let certificateChainPEM: String?

    init(_ applied: AppliedChange, gateway g: Gateway) {
        switch applied {
        case .partner(let p):
            kind = "partner"; partner = g.view(p); partnerID = nil; `operator` = nil; certificateChainPEM = nil
        case .partnerRemoved(let id):
            kind = "partner-removed"; partner = nil; partnerID = id.rawValue; `operator` = nil; certificateChainPEM = nil
        case .operatorChanged(let o):
            kind = "operator"; partner = nil; partnerID = nil; `operator` = OperatorView(o); certificateChainPEM = nil
        case .operatorAdded(let issued):
            kind = "operator-added"; partner = nil; partnerID = nil; `operator` = OperatorView(issued.operator)
            certificateChainPEM = issued.certificateChainPEM
        }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(kind, forKey: .kind)
        if let partner { try c.encode(partner, forKey: .partner) }
        if let partnerID { try c.encode(partnerID, forKey: .partner) }
        if let o = `operator` { try c.encode(o, forKey: .operator) }
        if let certificateChainPEM { try c.encode(certificateChainPEM, forKey: .certificateChainPEM) }
    }
    enum Keys: String, CodingKey { case kind, partner, `operator`, certificateChainPEM = "certificate_chain_pem" }
}
struct SealBody: Decodable, Sendable {
    struct Document: Decodable, Sendable { let upload: String; let name: String }
    let partner: String
    let claim: String
    let purpose: String
    let expires: String?
    let ttl: String?
    let consent: String?
    let metadata: [String: String]?
    let documents: [Document]
}
struct BundleWithHistory: Encodable { let bundle: BundleView; let history: [StoredEventView] }
struct UploadView: Encodable { let upload: String; let bytes: Int64; let sha256: String }
struct PurgeView: Encodable { let bundles: [String]; let inbound_reports: [String]; let bytes: Int64 }
