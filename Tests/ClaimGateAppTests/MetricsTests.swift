import ClaimGateApp
import ClaimGateCore
import ClaimGateTesting
import Foundation
import Operations
import Testing

/// The `/metrics` page, parsed: every label value is a closed code or a validated identifier,
/// also for rows the gateway did not write the usual way (written by a gateway older than the
/// reason columns, or edited in the file), and each partner's transfers are counted.
@Suite struct MetricsTests {
    struct Sample: Hashable, CustomStringConvertible {
        let name: String
        let labels: [String: String]
        let value: String
        var description: String { "\(name)\(labels.sorted { $0.key < $1.key }) \(value)" }
    }

    /// Prometheus text format, the subset the page uses: `name{k="v",…} value` and `# ` lines.
    static func parse(_ page: String) throws -> [Sample] {
        var samples: [Sample] = []
        for line in page.split(separator: "\n") where !line.hasPrefix("#") {
            let (head, value) = try #require(line.lastIndex(of: " ").map { (line[..<$0], String(line[line.index(after: $0)...])) })
            guard let open = head.firstIndex(of: "{") else { samples.append(Sample(name: String(head), labels: [:], value: value)); continue }
            #expect(head.hasSuffix("}"), "\(line)")
            var labels: [String: String] = [:]
            var rest = head[head.index(after: open)..<head.index(before: head.endIndex)]
            while !rest.isEmpty {
                let eq = try #require(rest.firstIndex(of: "="), "\(line)")
                let key = String(rest[..<eq])
                rest = rest[rest.index(after: eq)...]
                #expect(rest.first == "\"", "\(line)")
                rest = rest.dropFirst()
                var v = ""
                while let c = rest.first, c != "\"" {
                    if c == "\\" { rest = rest.dropFirst() }
                    v.append(rest.first ?? "?")
                    rest = rest.dropFirst()
                }
                rest = rest.dropFirst()
                if rest.first == "," { rest = rest.dropFirst() }
                labels[key] = v
            }
            samples.append(Sample(name: String(head[..<open]), labels: labels, value: value))
        }
        return samples
    }

    static func isClosed(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2e || $0 == 0x5f || $0 == 0x2d }
    }

    @Test(.enabled(if: TestDatabase.current == .sqlite, "edits the SQLite file behind the gateway's back")) func everyLabelValueIsClosedAndEachPartnerHasItsTransfers() throws {
        let f = try GatewayFixture()
        try f.onboard("acme-assessors")
        try f.onboard("st-marys-hospital")
        let acme = try PartnerID("acme-assessors"), marys = try PartnerID("st-marys-hospital")
        let store = f.gateway.store
        func record(_ partner: PartnerID, _ action: TransferEvent.Action, _ outcome: TransferEvent.Outcome, bytes: Int64? = nil,
                    _ transport: Transport = .https, reason: EventReason? = nil) throws {
            try store.record(TransferEvent(time: Date(), actor: .partner(partner), action: action, outcome: outcome, partnerID: partner,
                                           bytes: bytes, reason: reason, transport: transport))
        }
        // acme: a whole download, then a resumed one cut short; an upload. st-marys: a push.
        try record(acme, .download, .started)
        try record(acme, .download, .success, bytes: 1_000)
        try record(acme, .download, .started, bytes: 600, reason: EventReason(.resume))   // the offset, not bytes sent
        try record(acme, .download, .partial, bytes: 300)
        try record(acme, .upload, .success, bytes: 2_000, .sftp)
        try record(marys, .delivery, .success, bytes: 4_000, .sftp)
        try record(marys, .loginRefused, .refused, reason: EventReason(.unknownKey, "SHA256:abc \"quoted\" words"))

        // Rows the page must still label with codes: written by a gateway older than the reason
        // columns (text only), and one whose code column was edited to free text.
        let r = try Shell.run(["python3", "-c", """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            row = "INSERT INTO event (time, actor, action, outcome, partner_id, document_digests, reason, transport, reason_code, subject) VALUES (?, 'system', ?, 'refused', NULL, '[]', ?, ?, ?, NULL)"
            t = "2026-01-01T00:00:00Z"
            db.execute(row, (t, "login-refused", "The certificate was not accepted", "https", None))
            db.execute(row, (t, "upload", "upload-too-large: 99 bytes over", "sftp", None))
            db.execute(row, (t, "access-refused", "The bundle /outbox/x.p7m was gone", "sftp", "The"))
            db.execute(row, (t, "frobnicate", None, "pigeon post", None))
            db.commit()
            """, f.gateway.home.database])
        try #require(r.succeeded, "\(r.stderr)")

        let page = try f.gateway.prometheusMetrics()
        let samples = try Self.parse(page)
        for s in samples {
            for (key, value) in s.labels {
                #expect(Self.isClosed(key), "\(s)")
                #expect(Self.isClosed(value), "label \(key) of \(s)")
            }
        }
        func value(_ name: String, _ labels: [String: String]) -> String? {
            samples.first { $0.name == name && $0.labels == labels }?.value
        }
        // Refusals by code: the old text is read for its code where it has one.
        #expect(value("claimgate_refusals_total", ["reason": "unknown-key"]) == "1")
        #expect(value("claimgate_refusals_total", ["reason": "upload-too-large"]) == "1")
        #expect(value("claimgate_refusals_total", ["reason": "unclassified"]) == "2", "\(samples.filter { $0.name == "claimgate_refusals_total" })")
        #expect(value("claimgate_refusals_total", ["reason": "unspecified"]) == "1")
        let sampleLines = page.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(!sampleLines.contains { $0.contains("The") || $0.contains("pigeon") || $0.contains("frobnicate") }, "\(page)")
        #expect(value("claimgate_events_total", ["action": "other", "outcome": "refused", "transport": "other"]) == "1")

        // Per partner: transfers by action and outcome, bytes of what was moved.
        #expect(value("claimgate_partner_transfers_total", ["partner": "acme-assessors", "action": "download", "outcome": "started"]) == "2")
        #expect(value("claimgate_partner_transfers_total", ["partner": "acme-assessors", "action": "download", "outcome": "success"]) == "1")
        #expect(value("claimgate_partner_transfers_total", ["partner": "acme-assessors", "action": "download", "outcome": "partial"]) == "1")
        #expect(value("claimgate_partner_transfers_total", ["partner": "acme-assessors", "action": "upload", "outcome": "success"]) == "1")
        #expect(value("claimgate_partner_transfers_total", ["partner": "st-marys-hospital", "action": "delivery", "outcome": "success"]) == "1")
        #expect(value("claimgate_partner_transfer_bytes_total", ["partner": "acme-assessors", "action": "download", "outcome": "success"]) == "1000")
        #expect(value("claimgate_partner_transfer_bytes_total", ["partner": "acme-assessors", "action": "download", "outcome": "partial"]) == "300")
        #expect(value("claimgate_partner_transfer_bytes_total", ["partner": "acme-assessors", "action": "upload", "outcome": "success"]) == "2000")
        #expect(value("claimgate_partner_transfer_bytes_total", ["partner": "st-marys-hospital", "action": "delivery", "outcome": "success"]) == "4000")
        #expect(!samples.contains { $0.name == "claimgate_partner_transfers_total" && $0.labels["action"] == "login-refused" })
        #expect(!samples.contains { $0.name == "claimgate_partner_transfer_bytes_total" && $0.labels["outcome"] == "started" })
        // Every family is announced once, with its type.
        let families = page.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        #expect(Set(families).count == families.count)
        #expect(Set(samples.map(\.name)).isSubset(of: Set(families.map(String.init))))
    }
}
