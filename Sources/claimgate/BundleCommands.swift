import ArgumentParser
import ClaimGateApp
import Operations
import ClaimGateCore
import Foundation
import OperatorClient

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

    /// The order as the operator API takes it, the documents uploaded first.
    func remoteOrder(_ api: OperatorAPIClient) throws -> Data {
        struct Order: Encodable {
            let partner: String, claim: String, purpose: String, expires: String?, ttl: String?, consent: String?
            let metadata: [String: String], documents: [RemoteDocument]
        }
        let metadata = try order().metadata   // the same checks as locally, before anything is sent
        return try JSONEncoder().encode(Order(partner: partner, claim: claim, purpose: purpose, expires: expires, ttl: ttl,
                                              consent: consent, metadata: metadata, documents: api.uploadDocuments(documents)))
    }

    func report(_ b: BundleRecord) throws {
        try report(BundleView(b, withDocuments: true))
    }

    func report(_ view: BundleView) throws {
        if json { try printJSON(view); return }
        print(view.id)
    }

    /// `send`'s result: one shape whether or not a push was planned (`delivery` is null when the
    /// partner pulls).
    func report(_ b: BundleRecord, delivery: Delivery?) throws {
        try report(BundleView(b, withDocuments: true), delivery: delivery.map(DeliveryView.init))
    }

    func report(_ b: BundleView, delivery: DeliveryView?) throws {
        guard json else { print(b.id); return }
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
        try printJSON(Out(bundle: b, delivery: delivery))
    }
}

struct SealCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seal",
        abstract: "Seal documents for a partner into one bundle file and record it. Prints the bundle id.")
    @OptionGroup var home: GatewayOptions
    @Option(help: ArgumentHelp("The bundle file to write (must not exist).", valueName: "FILE")) var out: String
    @OptionGroup var args: SealArguments

    func run() throws {
        guard let api = try home.remote() else {
            return try args.report(home.gateway().seal(args.order(), to: .file(out), by: localPrincipal))
        }
        // The gateway seals and streams the file back, keeping no copy; it is written here.
        let path = FileSystem.absolute(out)
        let file = try DownloadedFile(path, replace: false)
        let order = try args.remoteOrder(api)
        let reply: OperatorAPIClient.Reply
        do {
            reply = try api.download(.POST, ["v1", "seal"], json: order) { try file.write($0) }
            try file.commit()
        } catch {
            file.discard()
            throw error
        }
        guard let id = reply.headers.first(name: "Bundle-Id") else {
            throw ClaimGateError(.io, "The gateway sealed \(path) but did not name the bundle: see `claimgate bundle list`.")
        }
        struct Shown: Decodable { let bundle: BundleView }
        var view = try api.get(Shown.self, ["v1", "bundles", id]).bundle
        view.file = path
        try args.report(view)
    }
}

struct SendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Seal documents for a partner and queue the bundle in its outbox. Prints the bundle id.")
    @OptionGroup var home: GatewayOptions
    @OptionGroup var args: SealArguments

    func run() throws {
        if let api = try home.remote() {
            let bundle = try api.post(BundleView.self, ["v1", "send"], json: args.remoteOrder(api))
            // The gateway's `serve` makes the push; its delivery is queued now.
            let delivery = (try? api.get([DeliveryView].self, ["v1", "deliveries"]))?.first { $0.bundle == bundle.id }
            try args.report(bundle, delivery: delivery)
            if let delivery {
                FileHandle.standardError.write(Data("queued for delivery to \(delivery.target): the gateway's `claimgate serve` pushes it (see `claimgate deliveries`).\n".utf8))
            }
            return
        }
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
        @OptionGroup var home: GatewayOptions
        @Argument(help: "Bundle id.") var id: String
        @Option(help: "Why (kept in the audit trail; no personal data).") var reason: String

        func run() throws {
            let b: BundleView
            if let api = try home.remote() {
                b = try api.post(["v1", "bundles", id, "recall"], body: ["reason": reason])
            } else {
                b = BundleView(try home.gateway().recall(bundle: id, reason: reason, by: localPrincipal), withDocuments: false)
            }
            print("Recalled \(b.id) (claim \(b.claimID), partner \(b.partner)).")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List bundles, newest first.")
        @OptionGroup var home: GatewayOptions
        @Option(help: "Only this partner's bundles.") var partner: String?
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let bundles: [BundleView]
            if let api = try home.remote() {
                bundles = try api.get(["v1", "bundles"], query: [("partner", partner)])
            } else {
                bundles = try home.readOnlyGateway().bundles(partner: partner, by: localPrincipal).map { BundleView($0, withDocuments: false) }
            }
            if json { try printJSON(bundles); return }
            if bundles.isEmpty { print("No bundles."); return }
            print("ID".padding(38) + "PARTNER".padding(20) + "CLAIM".padding(18) + "PURPOSE".padding(24) + "STATE".padding(10) + "EXPIRES")
            for b in bundles {
                print(b.id.padding(38) + b.partner.padding(20) + b.claimID.padding(18)
                      + b.purpose.padding(24) + b.state.padding(10) + b.expires)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one bundle, its documents and its history.")
        @OptionGroup var home: GatewayOptions
        @Argument(help: "Bundle id.") var id: String
        @Flag(help: "Print JSON.") var json = false

        struct Out: Codable { let bundle: BundleView; let history: [StoredEventView] }

        func run() throws {
            let shown: Out
            if let api = try home.remote() {
                shown = try api.get(["v1", "bundles", id])
            } else {
                let (b, expired, history) = try home.gateway().bundleWithHistory(id, by: localPrincipal)
                var view = BundleView(b, withDocuments: true)
                // Past its expiry a bundle is expired, whatever state it reached before.
                if expired { view.state = "expired" }
                shown = Out(bundle: view, history: history.map(StoredEventView.init))
            }
            let (view, history) = (shown.bundle, shown.history)
            if json { try printJSON(shown); return }
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
            for e in history { print("  \(e.time)  \(e.action)  \(e.outcome)  by \(e.actor) via \(e.transport)") }
        }
    }
}
