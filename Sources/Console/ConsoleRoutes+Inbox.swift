import ClaimGateCore
import Foundation
import Hummingbird
import NIOCore
import Operations

/// `/inbox`: the reports partners uploaded, one report with its documents, and its export (with
/// the grant `inbox-export`, the TOTP asked again) as one streamed `.tar`.
extension ConsoleRoutes {
    /// `GET /inbox`: accepted and quarantined reports partners uploaded.
    func inbox(_ s: SignedIn) async throws -> Response {
        let g = gateway, principal = s.principal, page = s.page, views = self.views
        return try await run {
            let reports = try g.inboundReports(by: principal)
            return views.render("inbox", page, title: "title_inbox", [
                "rows": reports.prefix(Self.bundleRowLimit).map { Self.inboundRow($0, page) },
                "none": reports.isEmpty,
            ])
        }
    }

    /// `GET /inbox/ID`: one report as `inbox show` shows it (state, reason, documents), with the
    /// export form when the operator's roles and grants offer it and the report is accepted.
    func inboxReport(_ id: String, _ s: SignedIn, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let g = gateway, principal = s.principal, page = s.page, views = self.views
        return try await run {
            let r = try g.inboundReport(id, by: principal)
            let documents = ((r.manifestJSON.flatMap { try? BundleManifest.decode($0) })?.documents ?? []).map {
                ["name": $0.name, "mediaType": $0.mediaType, "size": $0.size, "sha256": $0.sha256] as [String: Any]
            }
            var values: [String: Any] = [
                "report": Self.inboundRow(r, page).merging(["purpose": r.purpose ?? "", "transport": r.transport.rawValue,
                                                             "documents": documents]) { $1 },
                "mayExport": page.offered.contains(.inboxExport) && r.state == .accepted,
            ]
            if let error { values["error"] = error }
            return views.render("inbox-report", page, status: status, title: "inbox_report_title", values)
        }
    }

    /// `POST /inbox/ID/export` (`totp`): the TOTP again (`confirmTOTP`), then the operations the
    /// operator API's export uses, `exportInboundDocument` for each document and
    /// `exportInboundManifest` (each recorded `inbound-exported` before anything leaves), and
    /// the files streamed as one `.tar` (`inbound-ID/…`), read in pieces, never whole in memory.
    /// A refusal (a wrong code, no grant) shows the report again with its sentence.
    func exportInbox(_ id: String, _ s: SignedIn, _ form: ConsoleForm) async throws -> Response {
        let g = gateway, principal = s.principal, totp = form.trimmed("totp") ?? ""
        // Without the grant: 403, recorded, before any code is asked.
        try await run { try g.authorize(.inboxExport, partner: (try? g.inboundReport(id))?.partnerID, by: principal) }
        let opened: [(header: TarEntryHeader, fd: Int32)]
        do {
            opened = try await run { () throws -> [(header: TarEntryHeader, fd: Int32)] in
                try g.confirmTOTP(totp, by: principal)
                let r = try g.inboundReport(id, by: principal)
                let names = ((r.manifestJSON.flatMap { try? BundleManifest.decode($0) })?.documents ?? []).map(\.name).sorted()
                let folder = "inbound-" + r.id.uuidString.lowercased() + "/"
                var files: [(String, String)] = []
                for name in names { files.append((folder + name, try g.exportInboundDocument(id, named: name, by: principal).path)) }
                files.append((folder + "manifest.json", try g.exportInboundManifest(id, by: principal).path))
                var entries: [(header: TarEntryHeader, fd: Int32)] = []
                do {
                    for (entry, path) in files {
                        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
                        guard fd >= 0 else { throw ClaimGateError(.io, "Cannot open a document of inbound report \(r.id.uuidString.lowercased()) to send.") }
                        var st = stat()
                        guard fstat(fd, &st) == 0 else { close(fd); throw ClaimGateError(.io, "Cannot read a document of inbound report \(r.id.uuidString.lowercased()).") }
                        entries.append((TarEntryHeader(path: entry, size: Int64(st.st_size), modified: r.received), fd))
                    }
                } catch {
                    entries.forEach { close($0.fd) }
                    throw error
                }
                return entries
            }
        } catch let e as ClaimGateError where e.code != .unknownBundle {
            return try await inboxReport(id, s, error: e.message, status: Self.status(for: e.code))
        }
        let blocking = self.blocking
        let length = opened.reduce(Int64(TarEntryHeader.end)) { $0 + $1.header.archivedLength }
        let body = ResponseBody(contentLength: Int(length)) { writer in
            defer { opened.forEach { close($0.fd) } }
            for (header, fd) in opened {
                try await writer.write(ByteBuffer(bytes: header.bytes))
                var offset: Int64 = 0
                while offset < header.size {
                    let want = Int(min(Int64(1 << 20), header.size - offset)), at = offset
                    let chunk = try await blocking.runIfActive { () throws -> ByteBuffer in
                        var buffer = ByteBufferAllocator().buffer(capacity: want)
                        let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { p in max(0, pread(fd, p.baseAddress, want, off_t(at))) }
                        guard n > 0 else { throw ClaimGateError(.io, "A document ended early.") }
                        return buffer
                    }
                    offset += Int64(chunk.readableBytes)
                    try await writer.write(chunk)
                }
                let pad = TarEntryHeader.padding(for: header.size)
                if pad > 0 { try await writer.write(ByteBuffer(repeating: 0, count: pad)) }
            }
            try await writer.write(ByteBuffer(repeating: 0, count: TarEntryHeader.end))
            try await writer.finish(nil)
        }
        let name = "inbound-" + id.lowercased().filter { $0.isHexDigit || $0 == "-" } + ".tar"
        return Response(status: .ok, headers: [.contentType: "application/x-tar",
                                               .contentDisposition: "attachment; filename=\"\(name)\""], body: body)
    }

    /// An inbound report as the tables show it.
    static func inboundRow(_ r: InboundReport, _ page: ConsolePage) -> [String: Any] {
        ["id": r.id.uuidString.lowercased(), "partner": r.partnerID.rawValue, "file": r.fileName,
         "received": page.date(r.received), "bytes": r.bytes, "state": r.state.rawValue, "reason": r.reason ?? "",
         "bundle": r.bundleID?.description ?? "", "claim": r.claimID ?? ""]
    }
}
