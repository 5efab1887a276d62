import Audit
import ClaimGateCore
import Foundation
import Store

// The two reports on the audit trail (docs/audit-reports.md): the monthly access review
// (`claimgate audit report`) and the breach impact (`claimgate audit impact`). Both only read:
// the review from SQL aggregates, the impact from a stream of rows, so neither loads the log.

// MARK: - Month

/// A calendar month in UTC, as `--month YYYY-MM` names it.
public struct ReportMonth: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int

    public init(year: Int, month: Int) throws {
        guard (1...12).contains(month), (1...9999).contains(year) else {
            throw ClaimGateError(.invalidArgument, "'\(year)-\(month)' is not a month: use YYYY-MM, such as 2026-11.")
        }
        self.year = year; self.month = month
    }

    /// Parses `YYYY-MM`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let y = Int(parts[0]), let m = Int(parts[1]) else {
            throw ClaimGateError(.invalidArgument, "'\(text.prefix(40))' is not a month: use YYYY-MM, such as 2026-11.")
        }
        try self.init(year: y, month: m)
    }

    /// The month `date` falls in (UTC).
    public init(containing date: Date) {
        let t = AuditTime.format(date)
        year = Int(t.prefix(4))!
        month = Int(t.dropFirst(5).prefix(2))!
    }

    /// Midnight UTC on the first day of the month.
    public var start: Date { try! CalendarDay(year: year, month: month, day: 1).startOfDay }
    /// Midnight UTC on the first day of the next month (the period is `[start, end)`).
    public var end: Date { try! CalendarDay(year: month == 12 ? year + 1 : year, month: month == 12 ? 1 : month + 1, day: 1).startOfDay }

    public var description: String {
        String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year) + (month < 10 ? "-0" : "-") + String(month)
    }
    public static func < (a: Self, b: Self) -> Bool { (a.year, a.month) < (b.year, b.month) }
}

// MARK: - Access review

/// Output formats of `audit report`.
public enum AccessReviewFormat: String, Sendable, CaseIterable {
    /// Markdown, one section per partner (the default).
    case md
    case json
    /// One row per partner and metric (docs/audit-reports.md).
    case csv
}

/// The monthly access review: for each partner, what was shared with it by purpose, what it
/// downloaded and receipted, what it was refused and why, and the flags a reviewer must look at.
public struct AccessReview: Sendable, Encodable {
    public struct Rules: Sendable, Encodable {
        /// Partner refusals in the month at or above which `repeated-refusals` is raised.
        public var repeatedRefusals: Int
        /// Flags of one code listed per partner at most; the rest are counted in one more flag.
        public var flagListLimit: Int
        /// A role or grant not used for this many days is flagged in the grants review.
        public var unusedGrantDays: Int
    }

    public var month: String
    /// The period, `[periodStart, periodEnd)`, as audit-format UTC times.
    public var periodStart: String
    public var periodEnd: String
    public var generated: String
    /// Whether the month had ended when the report was generated; if not, it is provisional.
    public var complete: Bool
    /// The `--partner` the report was limited to.
    public var partnerFilter: String?
    public var rules: Rules
    /// One entry per partner, by id: every partner onboarded before the month ended, and any
    /// other partner id the month's events name.
    public var partners: [PartnerReview]
    /// Refusals before any partner was identified (unknown certificates, unknown SSH users).
    public var unattributedRefusals: [RefusalRow]
    /// What each operator did in the period (operators with entries in it), by name.
    public var operators: [OperatorActivity]
    /// Every entry recorded at the gateway host's shell in the period (`local:`, and `admin:`
    /// from before operators), in sequence order: break-glass use to account for.
    public var localActions: [LocalAction]
    /// Every operator's roles and grants, who gave them, when they were last used.
    public var grantsReview: GrantsReview
}

/// One partner's month.
public struct PartnerReview: Sendable, Encodable {
    public var partner: String
    public var name: String?
    /// `active` or `suspended` now; nil for an id that was never onboarded.
    public var status: String?
    /// Pull transports its current agreement allows.
    public var pull: [String]
    public var byPurpose: [ActivityCounts]
    /// The sum over purposes (`claimsSealed` is omitted: a claim may be shared for several purposes).
    public var totals: ActivityCounts
    public var sessions: SessionCounts
    public var refusals: [RefusalRow]
    public var flags: [AccessFlag]
}

/// Bundles shared, delivered, downloaded and receipted (one purpose, or the total).
public struct ActivityCounts: Sendable, Encodable, Equatable {
    public var purpose: String?
    public var bundlesSealed = 0
    public var claimsSealed: Int?
    public var documentsSealed = 0
    public var delivered = 0
    public var deliveryFailures = 0
    public var downloadsComplete = 0
    public var downloadsPartial = 0
    public var downloadBytes: Int64 = 0
    public var bundlesDownloaded = 0
    public var receipts = 0
    public var receiptsRefused = 0

    var isEmpty: Bool {
        bundlesSealed == 0 && documentsSealed == 0 && delivered == 0 && deliveryFailures == 0 && downloadsComplete == 0
            && downloadsPartial == 0 && downloadBytes == 0 && bundlesDownloaded == 0 && receipts == 0 && receiptsRefused == 0
    }
}

/// Logins, listings and uploads.
public struct SessionCounts: Sendable, Encodable, Equatable {
    public var logins = 0
    public var listings = 0
    public var uploads = 0
    public var inboundAccepted = 0
    public var inboundQuarantined = 0
}

/// Refusals of one action and reason code.
public struct RefusalRow: Sendable, Encodable, Equatable {
    public var action: String
    /// The reason code (`bundle-unavailable`, `unknown-key`…), or empty when there is none.
    public var reason: String
    /// `partner`, `admin` or `system`.
    public var actor: String
    /// For an SFTP login refused before any partner was identified: the user name tried.
    public var claimedUser: String?
    public var count: Int
}

/// Something a reviewer must look at.
public struct AccessFlag: Sendable, Encodable, Equatable {
    public enum Code: String, Sendable, Encodable, CaseIterable {
        /// At least `rules.repeatedRefusals` refusals of the partner's own requests in the month.
        case repeatedRefusals = "repeated-refusals"
        /// Requests for a bundle sealed for another partner.
        case foreignBundleAttempt = "foreign-bundle-attempt"
        /// Requests for one of its bundles after it expired.
        case expiredBundleAttempt = "expired-bundle-attempt"
        /// Requests for a name or id that is no bundle.
        case unknownBundleAttempt = "unknown-bundle-attempt"
        /// Requests for one of its own unexpired bundles that is not in its outbox (sealed to a
        /// file, recalled, purged, or its id spelled differently).
        case unavailableBundleAttempt = "unavailable-bundle-attempt"
        /// A bundle downloaded completely with no successful receipt by the end of the month.
        case downloadNotReceipted = "download-not-receipted"
    }

    public var code: Code
    /// One sentence for people.
    public var message: String
    /// Events behind the flag (refusals, attempts or complete downloads); for a summary flag,
    /// the number of flags not listed.
    public var count: Int
    /// What the partner asked for, as recorded (bundle attempts).
    public var reference: String?
    public var bundleID: String?
    /// The partner the bundle was sealed for (foreign attempts).
    public var bundlePartner: String?
    public var claimID: String?
    public var purpose: String?
    public var bundleState: String?
    public var bundleExpires: String?
    public var firstTime: String?
    public var lastTime: String?
    /// The first event behind the flag, to find it in the trail (`audit export`).
    public var firstSequence: Int64?
    public var transports: [String] = []
    public var clientAddresses: [String] = []
    /// For `repeated-refusals`: `action/reason` codes with their counts.
    public var reasons: [String: Int]?
    /// A summary flag: `count` more flags of this code were not listed.
    public var isSummary: Bool = false
}

extension Gateway {
    /// The access review of `month`, from SQL aggregates and streamed rows (the log is never
    /// loaded whole). Reads only; recording that it was run is the caller's business.
    /// - Parameters:
    ///   - month: the UTC month.
    ///   - partner: only this partner.
    ///   - repeatedRefusals: partner refusals in the month at or above which `repeated-refusals` is raised.
    ///   - flagListLimit: flags of one code listed per partner at most; the rest are summarised in one flag.
    ///   - unusedGrantDays: a role or grant not used for this many days, up to the end of the month
    ///     (or now, for the current month), is flagged in the grants review.
    public func accessReview(month: ReportMonth, partner: PartnerID? = nil, repeatedRefusals: Int = 3,
                             flagListLimit: Int = 100, unusedGrantDays: Int = 90) throws -> AccessReview {
        let since = AuditTime.format(month.start), until = AuditTime.format(month.end)
        let now = clock.now
        let all = try store.partners()
        let known = Dictionary(all.map { ($0.id.rawValue, $0) }, uniquingKeysWith: { a, _ in a })

        var reviews: [String: PartnerReview] = [:]
        func review(_ id: String) -> PartnerReview {
            if let r = reviews[id] { return r }
            let p = known[id]
            return PartnerReview(partner: id, name: p?.agreement.name, status: p?.status.rawValue,
                                 pull: p?.agreement.delivery.pull.map(\.rawValue) ?? [], byPurpose: [],
                                 totals: ActivityCounts(), sessions: SessionCounts(), refusals: [], flags: [])
        }
        for p in all where (partner == nil || p.id == partner) && p.onboardedAt < month.end { reviews[p.id.rawValue] = review(p.id.rawValue) }

        // Activity by purpose.
        for a in try store.partnerActivity(since: since, until: until, partner: partner?.rawValue) {
            var r = review(a.partnerID)
            let counts = ActivityCounts(purpose: a.purpose, bundlesSealed: a.bundlesSealed, claimsSealed: a.claimsSealed,
                                        documentsSealed: a.documentsSealed, delivered: a.deliveries,
                                        deliveryFailures: a.deliveryFailures, downloadsComplete: a.downloadsComplete,
                                        downloadsPartial: a.downloadsPartial, downloadBytes: a.downloadBytes,
                                        bundlesDownloaded: a.bundlesDownloaded, receipts: a.receipts, receiptsRefused: a.receiptsRefused)
            if !counts.isEmpty { r.byPurpose.append(counts) }
            r.totals.add(counts)
            r.sessions.logins += a.logins; r.sessions.listings += a.listings; r.sessions.uploads += a.uploads
            r.sessions.inboundAccepted += a.inboundAccepted; r.sessions.inboundQuarantined += a.inboundQuarantined
            reviews[a.partnerID] = r
        }

        // Refusals, and the repeated-refusals rule.
        var unattributed: [RefusalRow] = []
        var partnerRefusals: [String: [String: Int]] = [:]
        for c in try store.refusalCounts(since: since, until: until, partner: partner?.rawValue) {
            let row = RefusalRow(action: c.action, reason: c.reasonCode, actor: c.actorKind, claimedUser: c.claimedUser, count: c.count)
            // An SFTP login refused for a user name that is a partner's id is that partner's.
            guard let id = c.partnerID ?? c.claimedUser.flatMap({ known[$0] != nil ? $0 : nil }) else {
                unattributed.append(row)
                continue
            }
            var r = review(id)
            r.refusals.append(row)
            reviews[id] = r
            if c.actorKind == "partner" || (c.partnerID == nil && c.claimedUser == id) {
                partnerRefusals[id, default: [:]][c.action + "/" + (c.reasonCode.isEmpty ? "-" : c.reasonCode), default: 0] += c.count
            }
        }
        for (id, reasons) in partnerRefusals {
            let total = reasons.values.reduce(0, +)
            guard total >= repeatedRefusals else { continue }
            reviews[id]?.flags.append(AccessFlag(
                code: .repeatedRefusals,
                message: "\(id) was refused \(total) times this month (threshold \(repeatedRefusals)): "
                    + reasons.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ") + ".",
                count: total, reasons: reasons))
        }

        // Flags of one code beyond `flagListLimit` are only counted (the rows come in time order).
        var listed: [String: [AccessFlag.Code: Int]] = [:], unlisted: [String: [AccessFlag.Code: Int]] = [:]
        func raise(_ flag: AccessFlag, for id: String) {
            if listed[id]?[flag.code] ?? 0 < flagListLimit {
                listed[id, default: [:]][flag.code, default: 0] += 1
                var r = review(id)
                r.flags.append(flag)
                reviews[id] = r
            } else {
                unlisted[id, default: [:]][flag.code, default: 0] += 1
            }
        }

        // Requests for bundles the partner could not have, grouped and classified in SQL.
        try store.forEachUnavailableBundleRequests(since: since, until: until, partner: partner?.rawValue) { q in
            let code: AccessFlag.Code = switch q.kind {
            case .foreign: .foreignBundleAttempt
            case .expired: .expiredBundleAttempt
            case .unknown: .unknownBundleAttempt
            case .unavailable: .unavailableBundleAttempt
            }
            var f = AccessFlag(code: code, message: "", count: q.count, reference: q.reference, bundleID: q.bundleID,
                               bundlePartner: code == .foreignBundleAttempt ? q.bundlePartnerID : nil, claimID: q.bundleClaimID,
                               purpose: q.bundlePurpose, bundleState: q.bundleState, bundleExpires: q.bundleExpires,
                               firstTime: q.firstTime, lastTime: q.lastTime, firstSequence: q.firstSequence,
                               transports: q.transports, clientAddresses: Array(q.clientAddresses.prefix(10)))
            f.message = Self.attemptMessage(f, partner: q.partnerID)
            raise(f, for: q.partnerID)
        }

        // Downloads never receipted.
        try store.forEachUnreceiptedDownload(since: since, until: until, partner: partner?.rawValue) { d in
            raise(AccessFlag(
                code: .downloadNotReceipted,
                message: "Bundle \(d.bundleID) (claim \(d.claimID ?? "unknown"), \(d.purpose ?? "no purpose")) was downloaded completely "
                    + (d.downloads == 1 ? "once" : "\(d.downloads) times") + " over \(d.transports.joined(separator: ", ")), first at \(d.firstDownload), "
                    + "and not receipted by the end of the month (over HTTPS: POST /v1/bundles/{id}/receipt; over SFTP: /inbox/<id>.receipt).",
                count: d.downloads, bundleID: d.bundleID, claimID: d.claimID, purpose: d.purpose,
                firstTime: d.firstDownload, lastTime: d.lastDownload, firstSequence: d.firstSequence, transports: d.transports), for: d.partnerID)
        }
        for (id, codes) in unlisted {
            for (code, more) in codes {
                var r = review(id)
                r.flags.append(AccessFlag(
                    code: code, message: "\(more) more \(code.rawValue) flags of \(id) are not listed (limit \(flagListLimit)).",
                    count: more, isSummary: true))
                reviews[id] = r
            }
        }

        let order = Dictionary(uniqueKeysWithValues: AccessFlag.Code.allCases.enumerated().map { ($1, $0) })
        let partners = reviews.values.sorted { $0.partner < $1.partner }.map { r in
            var r = r
            r.byPurpose.sort { ($0.purpose ?? "") < ($1.purpose ?? "") }
            r.totals.claimsSealed = nil
            // By code, then by first event; a summary flag last in its code.
            r.flags = r.flags.enumerated().sorted {
                (order[$0.element.code]!, $0.element.isSummary ? 1 : 0, $0.element.firstTime ?? "", $0.offset)
                    < (order[$1.element.code]!, $1.element.isSummary ? 1 : 0, $1.element.firstTime ?? "", $1.offset)
            }.map(\.element)
            return r
        }
        let staff = try staffReview(since: since, until: until, reviewedAt: min(now, month.end), partner: partner,
                                    unusedDays: unusedGrantDays)
        return AccessReview(month: month.description, periodStart: since, periodEnd: until, generated: AuditTime.format(now),
                            complete: now >= month.end, partnerFilter: partner?.rawValue,
                            rules: .init(repeatedRefusals: repeatedRefusals, flagListLimit: flagListLimit, unusedGrantDays: unusedGrantDays),
                            partners: partners, unattributedRefusals: unattributed,
                            operators: staff.operators, localActions: staff.local, grantsReview: staff.grants)
    }

    private static func attemptMessage(_ f: AccessFlag, partner: String) -> String {
        let times = f.count == 1 ? "once" : "\(f.count) times"
        let over = f.transports.joined(separator: ", ")
        let bundle = f.bundleID ?? ""
        switch f.code {
        case .foreignBundleAttempt:
            return "\(partner) asked \(times) over \(over) for bundle \(bundle), sealed for \(f.bundlePartner ?? "another partner") (claim \(f.claimID ?? "unknown"))."
        case .expiredBundleAttempt:
            return "\(partner) asked \(times) over \(over) for its bundle \(bundle) (claim \(f.claimID ?? "unknown")) after it expired at \(f.bundleExpires ?? "?")."
        case .unknownBundleAttempt:
            return "\(partner) asked \(times) over \(over) for '\(f.reference ?? "")', which is no bundle."
        case .unavailableBundleAttempt:
            return "\(partner) asked \(times) over \(over) for its bundle \(bundle) (claim \(f.claimID ?? "unknown")), which is \(f.bundleState ?? "unavailable") and not in its outbox, as '\(f.reference ?? "")'."
        case .repeatedRefusals, .downloadNotReceipted:
            return f.message
        }
    }
}

extension ActivityCounts {
    mutating func add(_ c: ActivityCounts) {
        bundlesSealed += c.bundlesSealed; documentsSealed += c.documentsSealed; delivered += c.delivered
        deliveryFailures += c.deliveryFailures; downloadsComplete += c.downloadsComplete; downloadsPartial += c.downloadsPartial
        downloadBytes += c.downloadBytes; bundlesDownloaded += c.bundlesDownloaded; receipts += c.receipts
        receiptsRefused += c.receiptsRefused
    }
}

// MARK: Rendering the review

extension AccessReview {
    /// The review as Markdown, JSON or CSV (docs/audit-reports.md).
    public func rendered(as format: AccessReviewFormat) throws -> String {
        switch format {
        case .json: return try ReportEncoding.pretty(self) + "\n"
        case .md: return markdown()
        case .csv: return csv()
        }
    }

    private func markdown() -> String {
        let md = ReportEncoding.markdown
        var out = "# Access review \(month)\n\n"
        out += "Period \(periodStart) to \(periodEnd) (UTC), generated \(generated)"
        out += partnerFilter.map { ", partner \(md($0))" } ?? ""
        out += complete ? ".\n\n" : ". The month is not over: figures and flags are provisional.\n\n"
        if partners.isEmpty { out += "No partners and no partner events in this month.\n" }
        else {
            out += "| Partner | Bundles sealed | Delivered | Downloads (complete / partial) | Bytes downloaded | Receipts | Refusals | Flags |\n"
            out += "|---|--:|--:|--:|--:|--:|--:|--:|\n"
            for p in partners {
                let refusals = p.refusals.reduce(0) { $0 + $1.count }
                out += "| \(md(p.partner)) | \(p.totals.bundlesSealed) | \(p.totals.delivered) | \(p.totals.downloadsComplete) / \(p.totals.downloadsPartial) "
                    + "| \(p.totals.downloadBytes) | \(p.totals.receipts) | \(refusals) | \(p.flags.count) |\n"
            }
        }
        for p in partners {
            out += "\n## \(md(p.partner))"
            if let name = p.name, name != p.partner { out += " — \(md(name))" }
            out += "\n\n"
            out += p.status.map { "Status: \($0)" } ?? "Not an onboarded partner"
            out += p.pull.isEmpty ? ".\n\n" : "; pulls over \(p.pull.joined(separator: ", ")).\n\n"

            out += "### Flags\n\n"
            if p.flags.isEmpty { out += "None.\n\n" }
            for f in p.flags { out += "- **\(f.code.rawValue)**: \(md(f.message))\n" }
            if !p.flags.isEmpty { out += "\n" }

            out += "### Shared, downloaded and receipted, by purpose\n\n"
            if p.byPurpose.isEmpty { out += "Nothing shared, delivered or downloaded.\n\n" }
            else {
                out += "| Purpose | Bundles sealed | Claims | Documents | Delivered | Delivery failures | Downloads complete | Downloads partial | Bytes downloaded | Bundles downloaded | Receipts | Receipts refused |\n"
                out += "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n"
                for (c, isTotal) in p.byPurpose.map({ ($0, false) }) + [(p.totals, true)] {
                    let label = isTotal ? "**Total**" : md(c.purpose ?? "(none)")
                    out += "| \(label) | \(c.bundlesSealed) | \(c.claimsSealed.map(String.init) ?? "") | \(c.documentsSealed) | \(c.delivered) "
                        + "| \(c.deliveryFailures) | \(c.downloadsComplete) | \(c.downloadsPartial) | \(c.downloadBytes) "
                        + "| \(c.bundlesDownloaded) | \(c.receipts) | \(c.receiptsRefused) |\n"
                }
                out += "\n"
            }

            out += "### Refusals\n\n"
            out += Self.refusalTable(p.refusals)

            let s = p.sessions
            out += "### Sessions\n\n"
            out += "Logins (SFTP): \(s.logins) · listings: \(s.listings) · uploads: \(s.uploads) "
                + "(inbound reports accepted: \(s.inboundAccepted), quarantined: \(s.inboundQuarantined)).\n"
        }
        if !unattributedRefusals.isEmpty {
            out += "\n## Refusals before a partner was identified\n\n"
            out += Self.refusalTable(unattributedRefusals)
        }
        return out + staffMarkdown()
    }

    private static func refusalTable(_ rows: [RefusalRow]) -> String {
        let md = ReportEncoding.markdown
        guard !rows.isEmpty else { return "None.\n\n" }
        var out = "| Action | Reason | By | Count |\n|---|---|---|--:|\n"
        for r in rows {
            let by = r.claimedUser.map { "\(r.actor) (as user \(md($0)))" } ?? r.actor
            out += "| \(md(r.action)) | \(md(r.reason.isEmpty ? "-" : r.reason)) | \(by) | \(r.count) |\n"
        }
        return out + "\n"
    }

    /// `partner,metric,key,value,detail`: one row per partner and metric (see docs/audit-reports.md).
    private func csv() -> String {
        let cell = ReportEncoding.csv
        var out = "partner,metric,key,value,detail\n"
        func row(_ partner: String, _ metric: String, _ key: String, _ value: some CustomStringConvertible, _ detail: String = "") {
            out += [cell(partner), cell(metric), cell(key), value.description, cell(detail)].joined(separator: ",") + "\n"
        }
        for p in partners {
            for (c, isTotal) in p.byPurpose.map({ ($0, false) }) + [(p.totals, true)] {
                let key = isTotal ? "*" : (c.purpose ?? "")
                row(p.partner, "bundles-sealed", key, c.bundlesSealed)
                if let claims = c.claimsSealed { row(p.partner, "claims-sealed", key, claims) }
                row(p.partner, "documents-sealed", key, c.documentsSealed)
                row(p.partner, "delivered", key, c.delivered)
                row(p.partner, "delivery-failures", key, c.deliveryFailures)
                row(p.partner, "downloads-complete", key, c.downloadsComplete)
                row(p.partner, "downloads-partial", key, c.downloadsPartial)
                row(p.partner, "download-bytes", key, c.downloadBytes)
                row(p.partner, "bundles-downloaded", key, c.bundlesDownloaded)
                row(p.partner, "receipts", key, c.receipts)
                row(p.partner, "receipts-refused", key, c.receiptsRefused)
            }
            row(p.partner, "logins", "", p.sessions.logins)
            row(p.partner, "listings", "", p.sessions.listings)
            row(p.partner, "uploads", "", p.sessions.uploads)
            row(p.partner, "inbound-accepted", "", p.sessions.inboundAccepted)
            row(p.partner, "inbound-quarantined", "", p.sessions.inboundQuarantined)
            for r in p.refusals {
                row(p.partner, "refusals", r.action + "/" + r.reason, r.count, r.actor + (r.claimedUser.map { " as user " + $0 } ?? ""))
            }
            for f in p.flags {
                row(p.partner, "flag:" + f.code.rawValue, f.isSummary ? "more" : (f.bundleID ?? f.reference ?? ""), f.count, f.message)
            }
        }
        for r in unattributedRefusals {
            row("", "refusals", r.action + "/" + r.reason, r.count, r.actor + (r.claimedUser.map { " as user " + $0 } ?? ""))
        }
        return out + staffCSV()
    }
}

// MARK: - Breach impact

/// Output formats of `audit impact`.
public enum ImpactFormat: String, Sendable, CaseIterable {
    case json
    /// One row per exposure and document.
    case csv
}

/// Whose exposure to look for: a partner's, a claim's, or a claim's at one partner.
public struct ImpactQuery: Sendable, Equatable, Encodable {
    public var partner: String?
    public var claim: String?
    /// Only exposures at or after this time (audit format).
    public var since: String?

    /// - Parameters:
    ///   - partner: bundles sealed for, delivered to or downloaded by this partner.
    ///   - claim: bundles of this claim, whichever partner they went to.
    ///   - since: only exposures at or after this time.
    public init(partner: PartnerID? = nil, claim: String? = nil, since: Date? = nil) {
        self.partner = partner?.rawValue; self.claim = claim; self.since = since.map(AuditTime.format)
    }
}

/// One bundle that went to a partner: its claim, purpose and documents (from the manifest as
/// sealed), and each time it was sealed for, delivered to or downloaded by the partner.
public struct ImpactBundle: Sendable, Encodable, Equatable {
    public var bundleID: String
    public var partner: String
    public var claimID: String?
    public var purpose: String?
    public var created: String?
    public var expires: String?
    public var documents: [ImpactDocument]
    public var exposures: [ImpactExposure]
}

public struct ImpactDocument: Sendable, Encodable, Equatable {
    /// Nil when the bundle's record is missing and only the seal event's digests are known.
    public var name: String?
    public var sha256: String
    public var mediaType: String?
    public var size: Int64?
}

public struct ImpactExposure: Sendable, Encodable, Equatable {
    public enum Kind: String, Sendable, Encodable {
        /// Sealed for the partner: into its outbox (`send`) or to a file (`seal --out`).
        case sealed
        /// Pushed to the partner's server.
        case delivered
        /// Downloaded completely by the partner.
        case downloaded
        /// Part of the file was served.
        case downloadedPartially = "downloaded-partially"
    }
    public var sequence: Int64
    public var time: String
    public var kind: Kind
    /// `cli` for seals, `sftp` or `https` for deliveries and downloads.
    public var transport: String
    public var clientAddress: String?
    public var bytes: Int64?
}

/// Totals over every bundle of an impact query.
public struct ImpactSummary: Sendable, Encodable, Equatable {
    public var partners: [String] = []
    public var claims: [String] = []
    public var bundles = 0
    /// Distinct document digests.
    public var documents = 0
    public var exposures = 0
    public var downloads = 0
    public var firstTime: String?
    public var lastTime: String?
}

/// One step of a streamed impact: a bundle (with its documents, no exposures yet), then each of
/// its exposures in sequence order, then the next bundle.
public enum ImpactItem: Sendable, Equatable {
    case bundle(ImpactBundle)
    case exposure(ImpactExposure)
}

extension Gateway {
    /// Streams the impact of `query`: each bundle in the order of its first exposure, followed by
    /// its exposures. Memory does not grow with the log (only the distinct partners, claims and
    /// document digests of the summary are kept). Reads only.
    /// - Parameters:
    ///   - query: a partner, a claim, or both, and an optional start time.
    ///   - body: called with each bundle (its `exposures` empty) and then each of its exposures.
    /// - Returns: totals over everything passed to `body`.
    @discardableResult
    public func streamImpact(_ query: ImpactQuery, _ body: (ImpactItem) throws -> Void) throws -> ImpactSummary {
        guard query.partner != nil || query.claim != nil else {
            throw ClaimGateError(.invalidArgument, "Name a partner or a claim to assess the impact for.")
        }
        var partners = Set<String>(), claims = Set<String>(), digests = Set<String>()
        var summary = ImpactSummary()
        try store.forEachBundleExposure(partner: query.partner, claim: query.claim, since: query.since) { row in
            if row.firstOfBundle {
                let manifest = row.manifestJSON.flatMap { try? BundleManifest.decode($0) }
                let documents = manifest?.documents.map { ImpactDocument(name: $0.name, sha256: $0.sha256, mediaType: $0.mediaType, size: $0.size) }
                    ?? row.documentDigests.map { ImpactDocument(sha256: $0) }
                partners.insert(row.partnerID)
                if let c = row.claimID { claims.insert(c) }
                digests.formUnion(documents.map(\.sha256))
                summary.bundles += 1
                try body(.bundle(ImpactBundle(bundleID: row.bundleID, partner: row.partnerID, claimID: row.claimID, purpose: row.purpose,
                                              created: row.bundleCreated, expires: row.bundleExpires, documents: documents, exposures: [])))
            }
            let kind: ImpactExposure.Kind
            switch row.action {
            case TransferEvent.Action.delivery.rawValue: kind = .delivered
            case TransferEvent.Action.download.rawValue: kind = row.outcome == TransferEvent.Outcome.success.rawValue ? .downloaded : .downloadedPartially
            default: kind = .sealed
            }
            summary.exposures += 1
            if kind == .downloaded || kind == .downloadedPartially { summary.downloads += 1 }
            if summary.firstTime.map({ row.time < $0 }) ?? true { summary.firstTime = row.time }
            if summary.lastTime.map({ row.time > $0 }) ?? true { summary.lastTime = row.time }
            try body(.exposure(ImpactExposure(sequence: row.sequence, time: row.time, kind: kind, transport: row.transport,
                                              clientAddress: row.clientAddress, bytes: row.bytes)))
        }
        summary.partners = partners.sorted()
        summary.claims = claims.sorted()
        summary.documents = digests.count
        return summary
    }

    /// Calls `body` with each bundle of the query and all its exposures, in the order of first
    /// exposure. Holds one bundle's exposures at a time; `streamImpact` holds none.
    /// - Parameters:
    ///   - query: a partner, a claim, or both, and an optional start time.
    ///   - body: called once per bundle.
    /// - Returns: totals over the bundles passed to `body`.
    @discardableResult
    public func forEachImpactBundle(_ query: ImpactQuery, _ body: (ImpactBundle) throws -> Void) throws -> ImpactSummary {
        var current: ImpactBundle?
        let summary = try streamImpact(query) { item in
            switch item {
            case .bundle(let b):
                if let done = current { try body(done) }
                current = b
            case .exposure(let e):
                current?.exposures.append(e)
            }
        }
        if let done = current { try body(done) }
        return summary
    }

    /// Writes the impact of `query` as JSON or CSV through `write`, streaming
    /// (docs/audit-reports.md). Reads only.
    /// - Parameters:
    ///   - query: a partner, a claim, or both, and an optional start time.
    ///   - format: `json` (one object; each bundle on a line, each exposure on a line) or `csv`
    ///     (one row per exposure and document).
    ///   - write: receives the output in pieces, in order.
    /// - Returns: the totals (also written at the end of the JSON).
    @discardableResult
    public func writeImpact(_ query: ImpactQuery, format: ImpactFormat, to write: (String) throws -> Void) throws -> ImpactSummary {
        switch format {
        case .json:
            try write("{\n  \"generated\" : \(try ReportEncoding.compact(AuditTime.format(clock.now))),\n")
            try write("  \"query\" : \(try ReportEncoding.compact(query)),\n  \"bundles\" : [")
            var bundles = 0, exposures = 0
            let summary = try streamImpact(query) { item in
                switch item {
                case .bundle(let b):
                    // The bundle's fields, then its exposures as they come.
                    let header = try ReportEncoding.compact(ImpactBundle.Header(b))
                    try write((bundles == 0 ? "\n    " : "\n    ]},\n    ") + header.dropLast() + ",\"exposures\":[")
                    bundles += 1
                    exposures = 0
                case .exposure(let e):
                    try write((exposures == 0 ? "\n      " : ",\n      ") + (try ReportEncoding.compact(e)))
                    exposures += 1
                }
            }
            try write((bundles == 0 ? "],\n" : "\n    ]}\n  ],\n") + "  \"summary\" : \(try ReportEncoding.compact(summary))\n}\n")
            return summary
        case .csv:
            let cell = ReportEncoding.csv
            try write("time,sequence,kind,partner,claim_id,bundle_id,purpose,transport,client_address,bytes,document_name,document_sha256,media_type,document_size\n")
            // The bundle's and its documents' cells are formatted once per bundle.
            var bundleCells = "", documentCells: [String] = []
            return try streamImpact(query) { item in
                switch item {
                case .bundle(let b):
                    bundleCells = [cell(b.partner), cell(b.claimID ?? ""), b.bundleID, cell(b.purpose ?? "")].joined(separator: ",")
                    documentCells = b.documents.map { d in
                        [cell(d.name ?? ""), d.sha256, cell(d.mediaType ?? ""), d.size.map(String.init) ?? ""].joined(separator: ",")
                    }
                    if documentCells.isEmpty { documentCells = [",,,"] }
                case .exposure(let e):
                    let head = [e.time, String(e.sequence), e.kind.rawValue, bundleCells, e.transport,
                                cell(e.clientAddress ?? ""), e.bytes.map(String.init) ?? ""].joined(separator: ",")
                    var text = ""
                    for d in documentCells { text += head + "," + d + "\n" }
                    try write(text)
                }
            }
        }
    }
}

extension ImpactBundle {
    /// A bundle's fields without its exposures, for streaming.
    struct Header: Encodable {
        var bundleID: String, partner: String, claimID: String?, purpose: String?, created: String?, expires: String?
        var documents: [ImpactDocument]
        init(_ b: ImpactBundle) {
            bundleID = b.bundleID; partner = b.partner; claimID = b.claimID; purpose = b.purpose
            created = b.created; expires = b.expires; documents = b.documents
        }
    }
}

// MARK: - Encoding helpers

enum ReportEncoding {
    private static func encoder(_ formatting: JSONEncoder.OutputFormatting) -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = formatting.union([.sortedKeys, .withoutEscapingSlashes])
        e.keyEncodingStrategy = .convertToSnakeCase
        return e
    }

    static func pretty(_ value: some Encodable) throws -> String {
        String(decoding: try encoder(.prettyPrinted).encode(value), as: UTF8.self)
    }

    static func compact(_ value: some Encodable) throws -> String {
        String(decoding: try encoder([]).encode(value), as: UTF8.self)
    }

    /// A CSV cell (RFC 4180): quoted when it holds a comma, quote or line break; a leading
    /// `=`, `+`, `-`, `@`, tab or carriage return gets a `'` first, so spreadsheets never run
    /// text a partner chose (a requested file name) as a formula.
    static func csv(_ text: String) -> String {
        var t = text
        if let c = t.first, "=+-@\t\r".contains(c) { t = "'" + t }
        guard t.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return t }
        return "\"" + t.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Text safe inside a Markdown paragraph or table cell: markup characters escaped, line
    /// breaks as spaces.
    static func markdown(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "\\", "|", "*", "_", "`", "[", "]", "<", ">", "#": out.append("\\"); out.append(c)
            case "\n", "\r": out.append(" ")
            default: out.append(c)
            }
        }
        return out
    }
}
