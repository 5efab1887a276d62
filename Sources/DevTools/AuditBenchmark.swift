import Audit
import ClaimGateCore
import Foundation
import Logging
import Operations

/// The audit benchmark `scripts/bench audit` drives (`claimgate audit benchmark`): durable
/// group-commit appends from concurrent writers into a new scratch gateway, then verification of
/// the whole chain, from the database and from an export. A development tool: it writes straight
/// to the scratch gateway's store, and never into a real home.
public enum AuditBenchmark {
    /// Runs the benchmark in `scratch` (a folder that must not exist) and returns its report,
    /// one line per measurement.
    public static func run(scratch: String, entries: Int, writers: Int, by principal: Principal) throws -> [String] {
        let gateway = try Gateway.initialise(home: Home(root: scratch), gatewayID: "bench", by: principal, logger: Logger(label: "bench"))
        let partner = try PartnerID("bench-partner")
        let perWriter = entries / writers, extra = entries % writers
        let start = DispatchTime.now().uptimeNanoseconds
        let failures = Failures()
        // One thread per writer, as SFTP sessions have (concurrentPerform would run only as many
        // writers as there are cores, and group commit would have nothing to group).
        let done = DispatchGroup()
        for w in 0..<writers {
            done.enter()
            let n = perWriter + (w < extra ? 1 : 0)
            let t = Thread {
                for i in 0..<n {
                    do {
                        try gateway.store.record(TransferEvent(
                            time: Date(), actor: .partner(partner), action: .download, outcome: .started, partnerID: partner,
                            claimID: "CLM-\(w)-\(i)", bundleID: .random(), purpose: "claim-assessment",
                            transport: .https, clientAddress: "127.0.0.1:\(40000 + w)"))
                    } catch { failures.add() }
                }
                done.leave()
            }
            t.stackSize = 256 << 10
            t.start()
        }
        done.wait()
        let appendSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        try gateway.sealAuditTrail()
        let verifyStart = DispatchTime.now().uptimeNanoseconds
        let result = try gateway.verifyAuditTrail(by: .system)
        let verifySeconds = Double(DispatchTime.now().uptimeNanoseconds - verifyStart) / 1e9
        let export = scratch + "/trail.jsonl"
        try gateway.exportAuditTrail(to: export, by: principal)
        let exportVerifyStart = DispatchTime.now().uptimeNanoseconds
        let fromExport = try AuditVerifier.verify(exportAt: export, keys: [try gateway.identity.auditKey().publicKey])
        let exportVerifySeconds = Double(DispatchTime.now().uptimeNanoseconds - exportVerifyStart) / 1e9
        return [
            "appends \(entries) writers \(writers) seconds \(String(format: "%.3f", appendSeconds)) per_second \(Int(Double(entries) / appendSeconds)) failed \(failures.count)",
            "verify_db entries \(result.entryCount) intact \(result.isIntact) seconds \(String(format: "%.3f", verifySeconds)) per_second \(Int(Double(result.entryCount) / verifySeconds))",
            "verify_export entries \(fromExport.entryCount) intact \(fromExport.isIntact) seconds \(String(format: "%.3f", exportVerifySeconds)) per_second \(Int(Double(fromExport.entryCount) / exportVerifySeconds))",
        ]
    }
}

private final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var count = 0
    func add() { lock.lock(); count += 1; lock.unlock() }
}
