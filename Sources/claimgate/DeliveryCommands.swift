import ArgumentParser
import ClaimGateApp
import Operations
import ClaimGateCore
import Foundation
import OperatorClient

/// `claimgate deliveries`: push deliveries, listed (the default), retried at once or cancelled.
struct DeliveriesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliveries", abstract: "Show push deliveries; retry or cancel one.",
        subcommands: [List.self, Retry.self, Cancel.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show push deliveries: state, attempts and last error, newest first.")
        @OptionGroup var home: GatewayOptions
        @Option(help: "Only deliveries in this state (pending, delivered, failed, cancelled).") var state: DeliveryState?
        @Option(help: "Only this partner's deliveries.") var partner: String?
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let list: [DeliveryView]
            if let api = try home.remote() {
                list = try api.get(["v1", "deliveries"], query: [("state", state?.rawValue), ("partner", partner)])
            } else {
                list = try home.gateway().deliveries(state: state, partner: partner, by: localPrincipal).map(DeliveryView.init)
            }
            if json { try printJSON(list); return }
            if list.isEmpty { print("No deliveries."); return }
            print("BUNDLE".padding(38) + "PARTNER".padding(20) + "STATE".padding(11) + "TRIES".padding(6) + "TARGET / LAST ERROR")
            for d in list {
                print(d.bundle.padding(38) + d.partner.padding(20) + d.state.padding(11)
                      + String(d.attempts).padding(6) + (d.lastError ?? d.target))
            }
        }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Try a failed or waiting push delivery again at once.",
            discussion: "The delivery becomes pending and due now: the delivery worker of the running `claimgate serve` attempts it within seconds, and retries it with backoff from there. A delivered or cancelled delivery cannot be retried.")
        @OptionGroup var home: GatewayOptions
        @Argument(help: "Bundle id.") var bundle: String
        @Flag(help: "Print the delivery as JSON.") var json = false

        func run() throws {
            let d: DeliveryView
            if let api = try home.remote() {
                d = try api.post(["v1", "deliveries", bundle, "retry"])
            } else {
                d = DeliveryView(try home.gateway().retryDelivery(of: bundle, by: localPrincipal))
            }
            if json { try printJSON(d); return }
            print("Retrying the delivery of \(d.bundle) to \(d.target): `claimgate serve` attempts it within seconds (see `claimgate deliveries`).")
        }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop a pending or failed push delivery; the bundle stays in the outbox.",
            discussion: "The bundle is not pushed again, but stays in the partner's outbox for it to pull if its agreement allows; `claimgate bundle recall` withdraws the bundle itself.")
        @OptionGroup var home: GatewayOptions
        @Argument(help: "Bundle id.") var bundle: String
        @Option(help: "Why (kept in the audit trail; no personal data).") var reason: String
        @Flag(help: "Print the delivery as JSON.") var json = false

        func run() throws {
            let d: DeliveryView
            if let api = try home.remote() {
                d = try api.post(["v1", "deliveries", bundle, "cancel"], body: ["reason": reason])
            } else {
                d = DeliveryView(try home.gateway().cancelDelivery(of: bundle, reason: reason, by: localPrincipal))
            }
            if json { try printJSON(d); return }
            print("Cancelled the delivery of \(d.bundle) to \(d.target); the bundle stays in \(d.partner)'s outbox.")
        }
    }
}

extension DeliveryState: ExpressibleByArgument {}
