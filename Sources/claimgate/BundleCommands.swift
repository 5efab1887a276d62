import ArgumentParser
import ClaimGateApp
import Operations
import ClaimGateCore
import Foundation

/// Arguments shared by `seal` and `send`.
struct SealArguments: ParsableArguments {
    @Option(help: "Partner id.") var partner: String
    @Option(help: "Claim id.") var claim: String
    @Option(help: "Purpose; must be one the partner's agreement allows.") var purpose: String
    @Option(help: ArgumentHelp("Expiry: YYYY-MM-DD (end of that day, UTC) or an ISO-8601 datetime.", valueName: "DATE")) var expires: String?
    @Option(help: ArgumentHelp("Time to live instead of --expires: 90m, 12h, 7d, 2w.", valueName: "DURATION")) var ttl: String?
    @Option(help: "Consent reference to bind into the manifest.") var consent: String?
    @Option(help: ArgumentHelp("Metadata for the manifest; repeatable. Fields in the agreement's masking list are masked.", valueName: "KEY=VALUE"))
    var meta: [String] = []
    @Flag(help: "Print the bundle as JSON.") var json = false
    @Argument(help: ArgumentHelp("Documents to share.", valueName: "DOC")) var documents: [String] = []

    func validate() throws {
        guard (expires == nil) != (ttl == nil) else { throw ValidationError("Give exactly one of --expires DATE or --ttl DURATION.") }
        guard !documents.isEmpty else { throw ValidationError("Name at least one document to share.") }
        for m in meta where !m.contains("=") { throw ValidationError("--meta '\(m.prefix(40))' must be KEY=VALUE.") }
    }

    func order() throws -> SealOrder {
        let expiry = try expires.map(ExpirySpec.expires) ?? ExpirySpec.ttl(ttl!)
        var metadata: [String: String] = [:]
        for m in meta {
            let parts = m.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard metadata.updateValue(String(parts[1]), forKey: String(parts[0])) == nil else {
                throw ValidationError("--meta \(parts[0].prefix(40)) is given twice: give each key once.")
            }
        }
        return SealOrder(partner: partner, claimID: claim, purpose: purpose, expiry: expiry,
                         consentReference: consent, metadata: metadata, documents: documents)
    }

    func report(_ b: BundleRecord) throws {
        if json { try printJSON(BundleView(b, withDocuments: true)); return }
        print(b.id.description)
    }

    /// `send`'s result: one shape whether or not a push was planned (`delivery` is null when the
    /// partner pulls).
    func report(_ b: BundleRecord, delivery: Delivery?) throws {
        guard json else { print(b.id.description); return }
        struct Out: Encodable {
            let bundle: BundleView
            let delivery: DeliveryView?
            func encode(to encoder: Encoder) throws {
                var c = encoder.container(keyedBy: Keys.self)
                try c.encode(bundle, forKey: .bundle)
                try c.encode(delivery, forKey: .delivery)   // null, not absent
            }
            enum Keys: String, CodingKey { case bundle, delivery }
        }
        try printJSON(Out(bundle: BundleView(b, withDocuments: true), delivery: delivery.map(DeliveryView.init)))
    }
}

struct SealCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seal",
        abstract: "Seal documents for a partner into one bundle file and record it. Prints the bundle id.")
    @OptionGroup var home: HomeOption
    @Option(help: ArgumentHelp("The bundle file to write (must not exist).", valueName: "FILE")) var out: String
    @OptionGroup var args: SealArguments

    func run() throws {
        try args.report(home.gateway().seal(args.order(), to: .file(out), by: localPrincipal))
    }
}

struct SendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Seal documents for a partner and queue the bundle in its outbox. Prints the bundle id.")
    @OptionGroup var home: HomeOption
    @OptionGroup var args: SealArguments

    func run() throws {
        let gateway = try home.gateway()
        let bundle = try gateway.seal(args.order(), to: .outbox, by: localPrincipal)
        guard let planned = try gateway.delivery(of: bundle.id) else {
            try args.report(bundle, delivery: nil)
            return
        }
        // First push attempt now; `claimgate serve` retries failures.
        let d = try gateway.attempt(planned)
        try args.report(bundle, delivery: d)
        switch d.state {
        case .delivered: FileHandle.standardError.write(Data("delivered to \(d.target)\n".utf8))
        case .pending: FileHandle.standardError.write(Data("queued: delivery attempt \(d.attempts) failed (\(d.lastError ?? "unknown")); `claimgate serve` retries it.\n".utf8))
        case .failed, .cancelled: FileHandle.standardError.write(Data("queued, but the delivery \(d.state.rawValue): \(d.lastError ?? "unknown")\n".utf8))
        }
    }
}

struct OpenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open",
        abstract: "Partner side: decrypt, verify and extract a bundle.",
        discussion: "Writes OUT/manifest.json and OUT/documents/*. Nothing is written when any check fails.")
    @Argument(help: ArgumentHelp("The sealed bundle.", valueName: "BUNDLE")) var bundle: String
    @Option(help: "Your encryption certificate (PEM).") var cert: String
    @Option(help: "Its private key (PEM).") var key: String
    @Option(help: "The gateway's certificates from `claimgate identity --pem`.") var trust: String
    @Option(help: ArgumentHelp("Output folder.", valueName: "DIR")) var out: String
    @Flag(help: "Print the manifest as JSON.") var json = false

    func run() throws {
        let m = try PartnerOpener.open(.init(bundle: bundle, certificate: cert, key: key, trust: trust, output: out), clock: SystemClock())
        if json { print(String(decoding: try m.encoded(), as: UTF8.self)); return }
        print("Opened bundle \(m.bundleID.description) for claim \(m.claimID), purpose \(m.purpose), expires \(Timestamp.format(m.expires)):")
        for d in m.documents { print("  documents/\(d.name)  \(d.mediaType)  \(d.size) bytes  sha256 \(d.sha256)") }
    }
}

struct BundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle", abstract: "Inspect and recall sealed bundles.", subcommands: [List.self, Show.self, Recall.self])

    struct Recall: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Withdraw a bundle: from now on it is neither listed nor served, and a queued push is cancelled.",
            discussion: "A copy the partner already downloaded stays with the partner; the audit trail shows whether it did. `claimgate purge` then destroys the file.")
        @OptionGroup var home: HomeOption
        @Argument(help: "Bundle id.") var id: String
        @Option(help: "Why (kept in the audit trail; no personal data).") var reason: String

        func run() throws {
            let b = try home.gateway().recall(bundle: id, reason: reason, by: localPrincipal)
            print("Recalled \(b.id.description) (claim \(b.claimID), partner \(b.partnerID)).")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List bundles, newest first.")
        @OptionGroup var home: HomeOption
        @Option(help: "Only this partner's bundles.") var partner: String?
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let g = try home.readOnlyGateway()
            let bundles = try g.bundles(partner: partner, by: localPrincipal)
            if json { try printJSON(bundles.map { BundleView($0, withDocuments: false) }); return }
            if bundles.isEmpty { print("No bundles."); return }
            print("ID".padding(38) + "PARTNER".padding(20) + "CLAIM".padding(18) + "PURPOSE".padding(24) + "STATE".padding(10) + "EXPIRES")
            for b in bundles {
                print(b.id.description.padding(38) + b.partnerID.rawValue.padding(20) + b.claimID.padding(18)
                      + b.purpose.padding(24) + b.state.rawValue.padding(10) + Timestamp.format(b.expires))
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one bundle, its documents and its history.")
        @OptionGroup var home: HomeOption
        @Argument(help: "Bundle id.") var id: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let g = try home.gateway()
            let (b, expired, history) = try g.bundleWithHistory(id, by: localPrincipal)
            var view = BundleView(b, withDocuments: true)
            // Past its expiry a bundle is expired, whatever state it reached before.
            if expired { view.state = "expired" }
            if json {
                struct Out: Encodable { let bundle: BundleView; let history: [StoredEventView] }
                try printJSON(Out(bundle: view, history: history.map(StoredEventView.init)))
                return
            }
            print("""
            bundle   \(view.id)
            partner  \(view.partner)
            claim    \(view.claimID)
            purpose  \(view.purpose)
            state    \(view.state)
            created  \(view.created)
            expires  \(view.expires)
            file     \(view.file) (\(view.size) bytes)
            documents:
            """)
            for d in view.documents ?? [] { print("  \(d.name)  \(d.mediaType)  \(d.size) bytes  sha256 \(d.sha256)") }
            print("history:")
            for e in history { print("  \(Timestamp.format(e.time))  \(e.action)  \(e.outcome)  by \(e.actor) via \(e.transport)") }
        }
    }
}
