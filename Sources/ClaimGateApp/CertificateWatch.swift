import ClaimGateCore
import Operations
import Foundation
import Logging
import ServiceLifecycle

/// Runs the `claimgate doctor` checks while `serve` runs: once at start, then every `interval`
/// (a day by default). Findings at warning or above are logged as warnings, one line each, so
/// certificates and agreements that are about to end are seen in the log before they break
/// exchange; info findings are logged at info.
public struct CertificateWatch: Service {
    let gateway: Gateway
    let withinDays: Int
    let interval: Duration
    let logger: Logger

    /// - Parameters:
    ///   - withinDays: how far ahead to look for certificates and agreements ending (`doctor --days`).
    ///   - interval: time between checks.
    ///   - logger: where findings go; the gateway's logger when nil.
    public init(gateway: Gateway, withinDays: Int = 30, interval: Duration = .seconds(86_400), logger: Logger? = nil) {
        self.gateway = gateway
        self.withinDays = withinDays
        self.interval = interval
        self.logger = logger ?? gateway.logger
    }

    public func run() async throws {
        let interval = self.interval
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let watch = self
            // Only on the node that holds the job's lease (`LeaseKeeper`).
            await offload { if watch.gateway.currentLease(.certificateWatch) != nil { _ = watch.check() } }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// Runs the checks once and logs the findings.
    /// - Returns: the report, or nil when the checks themselves failed (logged as an error).
    @discardableResult
    public func check() -> DoctorReport? {
        let report: DoctorReport
        do { report = try gateway.doctor(withinDays: withinDays, by: .system) } catch {
            logger.error("certificate watch failed", metadata: ["error": "\(error)"])
            return nil
        }
        let serious = report.findings(atLeast: .warning)
        if serious.isEmpty {
            logger.info("certificate watch: nothing needs attention", metadata: ["doctor.within_days": "\(withinDays)"])
        } else {
            let errors = serious.filter { $0.severity == .error }.count
            logger.warning("certificate watch: \(serious.count) finding(s) need attention (\(errors) error(s)); run `claimgate doctor` for the list",
                           metadata: ["doctor.within_days": "\(withinDays)"])
        }
        for f in report.findings {
            var metadata: Logger.Metadata = ["finding.code": "\(f.code)", "finding.severity": "\(f.severity.rawValue)",
                                             "finding.subject": "\(f.subject)"]
            if let c = f.certificate { metadata["finding.certificate"] = "\(c)" }
            if let d = f.daysLeft { metadata["finding.days_left"] = "\(d)" }
            logger.log(level: f.severity == .info ? .info : .warning, "\(f.message)", metadata: metadata)
        }
        return report
    }
}
