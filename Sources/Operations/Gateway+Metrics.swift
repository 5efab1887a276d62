import ClaimGateCore
import Envelope
import Foundation
import Store

extension Gateway {
    /// The admin listener's `/metrics` page (Prometheus text format): transfers, bytes, refusals
    /// by reason, each partner's transfers, deliveries by state, days to expiry of every
    /// certificate (gateway and partners) and days to the end of every agreement. No personal
    /// data: every label value is a closed code or a validated identifier (a partner id,
    /// `gateway`, a certificate's role), whatever the rows hold; a value outside the closed set
    /// is shown as `other` (actions, outcomes, transports) or read as the code its reason text
    /// gives (`unclassified` when none, `unspecified` when there is no reason).
    public func prometheusMetrics() throws -> String {
        var out: [String] = []
        let totals = try store.eventTotals()
        func family(_ name: String, _ help: String, _ type: String = "counter") {
            out.append("# HELP \(name) \(help)")
            out.append("# TYPE \(name) \(type)")
        }
        func samples<V>(_ name: String, _ values: [String: V]) {
            for (k, v) in values.sorted(by: { $0.key < $1.key }) { out.append("\(name){\(k)} \(v)") }
        }

        family("claimgate_events_total", "Recorded events by action, outcome and transport.")
        var events: [String: Int] = [:]
        for t in totals {
            events["action=\"\(Self.action(t.action))\",outcome=\"\(Self.outcome(t.outcome))\",transport=\"\(Self.transport(t.transport))\"", default: 0] += t.count
        }
        samples("claimgate_events_total", events)

        family("claimgate_transfer_bytes_total", "Bytes of successful downloads, uploads and pushes, by transport.")
        var bytes: [String: Int64] = [:]
        for t in totals where Self.transferActions.contains(t.action) && t.outcome == "success" {
            bytes["action=\"\(t.action)\",transport=\"\(Self.transport(t.transport))\"", default: 0] += t.bytes
        }
        samples("claimgate_transfer_bytes_total", bytes)

        family("claimgate_refusals_total", "Refused requests by reason code.")
        samples("claimgate_refusals_total", try refusalsByCode(totals).reduce(into: [String: Int]()) { $0["reason=\"\($1.key)\""] = $1.value })

        var perPartner: [String: Int] = [:], perPartnerBytes: [String: Int64] = [:]
        for t in try store.partnerTransferTotals() {
            // Partner ids are validated when onboarded; a row with anything else is not labelled.
            guard PartnerID.isValid(t.partner) else { continue }
            let labels = "partner=\"\(t.partner)\",action=\"\(Self.action(t.action))\",outcome=\"\(Self.outcome(t.outcome))\""
            perPartner[labels, default: 0] += t.count
            if t.outcome == "success" || t.outcome == "partial" { perPartnerBytes[labels, default: 0] += t.bytes }
        }
        family("claimgate_partner_transfers_total", "Downloads, uploads and pushes by partner, action and outcome.")
        samples("claimgate_partner_transfers_total", perPartner)
        family("claimgate_partner_transfer_bytes_total",
               "Bytes moved by partner, action and outcome (success or partial; a resumed download's offset is not counted).")
        samples("claimgate_partner_transfer_bytes_total", perPartnerBytes)

        family("claimgate_deliveries", "Push deliveries by state.", "gauge")
        let deliveries = try store.deliveries()
        for state in DeliveryState.allCases {
            out.append("claimgate_deliveries{state=\"\(state.rawValue)\"} \(deliveries.filter { $0.state == state }.count)")
        }

        family("claimgate_certificate_days_to_expiry",
               "Days until a certificate expires (negative: expired), by subject (gateway or partner id) and certificate.", "gauge")
        let now = clock.now
        for w in try watchedCertificates() {
            guard case .success(let c) = w.certificate else { continue }   // `claimgate doctor` reports unreadable ones
            guard Self.isLabel(w.owner), Self.isLabel(w.name) else { continue }
            let days = String(format: "%.1f", c.notAfter.timeIntervalSince(now) / 86_400)
            out.append("claimgate_certificate_days_to_expiry{subject=\"\(w.owner)\",certificate=\"\(w.name)\"} \(days)")
        }

        family("claimgate_agreement_days_to_end", "Days until a partner's agreement ends (negative: ended).", "gauge")
        for p in try store.partners() where p.status != .removed {
            let days = String(format: "%.1f", p.agreement.terms.endsAt.timeIntervalSince(now) / 86_400)
            out.append("claimgate_agreement_days_to_end{subject=\"\(p.id.rawValue)\"} \(days)")
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// Refusals counted by reason code. The code is the `reason_code` column when it holds one of
    /// the closed set; a row without one (written by a gateway older than the column, or edited)
    /// is read for its code from its reason text, as the migration to the columns does; never is
    /// the text itself a label.
    private func refusalsByCode(_ totals: [(action: String, outcome: String, transport: String, reason: String?, count: Int, bytes: Int64)]) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        var odd: Set<String?> = []
        for t in totals where t.outcome == "refused" {
            if let code = t.reason, EventReason.Code(rawValue: code) != nil { counts[code, default: 0] += t.count } else { odd.insert(t.reason) }
        }
        for column in odd {
            for r in try store.refusalReasons(codeColumn: column) {
                let code = r.text.map { EventReason.parse(recorded: $0, action: r.action).code.rawValue } ?? "unspecified"
                counts[code, default: 0] += r.count
            }
        }
        return counts
    }

    static let transferActions: Set<String> = ["download", "upload", "delivery"]

    /// A column's value when it is one of the closed set, else `other`.
    static func action(_ raw: String) -> String { TransferEvent.Action(rawValue: raw) != nil ? raw : "other" }
    static func outcome(_ raw: String) -> String { TransferEvent.Outcome(rawValue: raw) != nil ? raw : "other" }
    static func transport(_ raw: String) -> String { Transport(rawValue: raw) != nil ? raw : "other" }

    /// `[a-z0-9._-]+`: a label value that needs no escaping and holds no sentence.
    static func isLabel(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2e || $0 == 0x5f || $0 == 0x2d }
    }
}
