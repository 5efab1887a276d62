import ClaimGateCore
import Foundation
import Synchronization

/// The parts of a bundle a partner has fetched, across handles and connections, for a while:
/// clients fetch large files in pieces at once (rclone's multi-thread download, lftp's `pget`,
/// ranged HTTPS requests), and each piece alone is a partial download. When the pieces a partner
/// fetched within `grace` of the first cover every byte of the file, the download that completes
/// them counts as the whole download (the bundle is then downloaded, as for one complete read).
final class DownloadPieces: Sendable {
    /// How long after its first piece a bundle's pieces are put together.
    static let grace: TimeInterval = 30 * 60

    private struct Key: Hashable { let partner: PartnerID; let bundle: BundleID }
    private struct Pieces { var coverage: ByteCoverage; let since: Date }
    private let all = Mutex<[Key: Pieces]>([:])

    /// Adds `served` to what `partner` fetched of `entry`; true when, with it, every byte of the
    /// file has been sent within the grace period (the pieces are then forgotten).
    func completes(_ entry: OutboxEntry, partner: PartnerID, with served: ByteCoverage, at now: Date) -> Bool {
        guard !served.ranges.isEmpty else { return false }
        let key = Key(partner: partner, bundle: entry.bundleID)
        return all.withLock { all in
            all = all.filter { now.timeIntervalSince($0.value.since) <= Self.grace }
            var pieces = all[key] ?? Pieces(coverage: ByteCoverage(), since: now)
            for r in served.ranges { pieces.coverage.add(r) }
            if pieces.coverage.covers(size: entry.size) {
                all[key] = nil
                return true
            }
            all[key] = pieces
            return false
        }
    }
}
