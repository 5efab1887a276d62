import ClaimGateCore
import Foundation
import Synchronization

/// How long partner requests take, by transport and operation: a Prometheus histogram kept in
/// memory since `serve` started (`claimgate_request_duration_seconds`). Labels are closed sets.
public final class RequestDurations: Sendable {
    /// Upper bounds of the buckets, in seconds: from a listing (milliseconds) to a large
    /// download on a slow line (minutes).
    public static let bounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]

    private struct Series {
        var buckets = [Int](repeating: 0, count: RequestDurations.bounds.count)
        var count = 0
        var sum = 0.0
    }
    private struct Key: Hashable, Comparable {
        let transport: String, operation: String
        static func < (a: Key, b: Key) -> Bool { (a.transport, a.operation) < (b.transport, b.operation) }
    }
    private let series = Mutex<[Key: Series]>([:])

    public init() {}

    public func observe(_ r: AccessRecord) {
        let s = max(0, r.seconds)
        let key = Key(transport: r.transport.rawValue, operation: r.operation.rawValue)
        series.withLock { all in
            var v = all[key] ?? Series()
            if let i = Self.bounds.firstIndex(where: { s <= $0 }) { v.buckets[i] += 1 }
            v.count += 1
            v.sum += s
            all[key] = v
        }
    }

    /// The histogram in the Prometheus text format (cumulative buckets, `+Inf`, sum, count).
    public func prometheusText() -> String {
        let snapshot = series.withLock { $0 }
        var out = ["# HELP claimgate_request_duration_seconds Partner requests by transport and operation, from first byte in to last byte out (since serve started).",
                   "# TYPE claimgate_request_duration_seconds histogram"]
        for (key, v) in snapshot.sorted(by: { $0.key < $1.key }) {
            let labels = "transport=\"\(key.transport)\",operation=\"\(key.operation)\""
            var cumulative = 0
            for (i, bound) in Self.bounds.enumerated() {
                cumulative += v.buckets[i]
                out.append("claimgate_request_duration_seconds_bucket{\(labels),le=\"\(bound)\"} \(cumulative)")
            }
            out.append("claimgate_request_duration_seconds_bucket{\(labels),le=\"+Inf\"} \(v.count)")
            out.append("claimgate_request_duration_seconds_sum{\(labels)} \(String(format: "%.6f", v.sum))")
            out.append("claimgate_request_duration_seconds_count{\(labels)} \(v.count)")
        }
        return out.joined(separator: "\n") + "\n"
    }
}
