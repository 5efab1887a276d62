import ClaimGateCore
import ClaimGateTesting
import Foundation
import Operations
import Store

/// A gateway with partners and operators added at the shell, and the principals those operators
/// act as (their name and the fingerprint of the certificate `operator add` issued them).
final class OperatorFixture: @unchecked Sendable {
    let f: GatewayFixture
    var gateway: Gateway { f.gateway }
    static let shell = Principal.local(uid: 1000, name: "test")

    init(clock: any WallClock = SystemClock()) throws {
        f = try GatewayFixture(clock: clock)
        try f.onboard("acme-assessors")
        try f.gateway.addPartner(agreementFile: try f.agreement(id: "st-marys-hospital"), by: Self.shell)
    }

    /// Adds an operator at the shell and returns the principal it acts as.
    @discardableResult
    func add(_ name: String, _ roles: Set<Role>, grants: Set<OperatorGrant> = [], partners: [String]? = nil) throws -> Principal {
        let issued = try gateway.addOperator(name, roles: roles, grants: grants, partners: partners, by: Self.shell).requireApplied()
        return .operator(issued.operator.id, fingerprint: issued.operator.certificate.fingerprint)
    }

    /// Events recorded as refused for `principal`, as (reason code, subject).
    func refusals(of principal: Principal) throws -> [(code: String?, subject: String?)] {
        try gateway.store.events().filter { $0.actor == principal.actor.description && $0.action == "operator-refused" }
            .map { ($0.reasonCode, $0.subject) }
    }
}
