import ClaimGateCore
import Envelope
import Foundation

extension Gateway {
    /// The admin listener's `/metrics` page (Prometheus text format): transfers, bytes, refusals
    /// by reason, deliveries by state, days to expiry of every certificate (gateway and partners) and
    /// days to the end of every agreement. No personal data.
    public func prometheusMetrics() throws -> String {
        var out: [String] = []
        let totals = try store.eventTotals()
        func family(_ name: String, _ help: String, _ type: String = "counter") {
            out.append("# HELP \(name) \(help)")
            out.append("# TYPE \(name) \(type)")
        }
        func label(_ s: String) -> String {
            s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: " ")
        }

        family("claimgate_events_total", "Recorded events by action, outcome and transport.")
        var events: [String: Int] = [:]
        for t in totals { events["action=\"\(t.action)\",outcome=\"\(t.outcome)\",transport=\"\(t.transport)\"", default: 0] += t.count }
        for (k, v) in events.sorted(by: { $0.key < $1.key }) { out.append("claimgate_events_total{\(k)} \(v)") }

        family("claimgate_transfer_bytes_total", "Bytes of successful downloads, uploads and pushes, by transport.")
        var bytes: [String: Int64] = [:]
        for t in totals where ["download", "upload", "delivery"].contains(t.action) && t.outcome == "success" {
            bytes["action=\"\(t.action)\",transport=\"\(t.transport)\"", default: 0] += t.bytes
        }
        for (k, v) in bytes.sorted(by: { $0.key < $1.key }) { out.append("claimgate_transfer_bytes_total{\(k)} \(v)") }

        family("claimgate_refusals_total", "Refused requests by reason code.")
        var refusals: [String: Int] = [:]
        for t in totals where t.outcome == "refused" {
            // A closed code (the reason_code column); never the subject or a sentence.
            refusals[t.reason ?? "unspecified", default: 0] += t.count
        }
        for (k, v) in refusals.sorted(by: { $0.key < $1.key }) { out.append("claimgate_refusals_total{reason=\"\(label(k))\"} \(v)") }

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
            let days = String(format: "%.1f", c.notAfter.timeIntervalSince(now) / 86_400)
            out.append("claimgate_certificate_days_to_expiry{subject=\"\(label(w.owner))\",certificate=\"\(label(w.name))\"} \(days)")
        }

        family("claimgate_agreement_days_to_end", "Days until a partner's agreement ends (negative: ended).", "gauge")
        for p in try store.partners() where p.status != .removed {
            let days = String(format: "%.1f", p.agreement.terms.endsAt.timeIntervalSince(now) / 86_400)
            out.append("claimgate_agreement_days_to_end{subject=\"\(label(p.id.rawValue))\"} \(days)")
        }
        return out.joined(separator: "\n") + "\n"
    }
}
