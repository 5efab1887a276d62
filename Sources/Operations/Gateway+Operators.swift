import ClaimGateCore
import Envelope
import Foundation

/// Operators: added with a client certificate from the gateway's operator CA, suspended,
/// resumed, removed, given and withdrawn roles and grants. Every change is recorded, names who
/// made it, and is in force at the operator's next action.
extension Gateway {
    /// The longest an operator certificate may be issued for (`operator add --days`).
    public static let maxOperatorCertificateDays = 825

    /// Creates the operator CA when the home has none (homes made before operators), recorded
    /// as `key-created` (reason `operator-ca`, with the new CA's fingerprint).
    func ensureOperatorCA() throws {
        guard !identity.hasOperatorCA else { return }
        guard try GatewayIdentity.createOperatorCA(in: home.identity, gatewayID: identity.gatewayID, now: clock.now) else { return }
        let fingerprint = try identity.operatorCA().sha256Fingerprint
        try store.record(TransferEvent(time: clock.now, actor: .system, action: .keyCreated, outcome: .success,
                                       reason: EventReason(.operatorCA, fingerprint), transport: .cli))
        logger.info("operator CA created", metadata: ["certificate.sha256": "\(fingerprint)"])
    }

    /// The operator CA's certificate followed by the gateway CA that issued it (PEM): what
    /// `openssl verify -CAfile` takes to check an operator certificate. Created first when the
    /// home has none.
    public func operatorCAPEM(by principal: Principal) throws -> String {
        try authorize(.identityShow, by: principal)
        if !store.isReadOnly { try ensureOperatorCA() }
        return try identity.operatorCA().pem + identity.ca.pem
    }

    /// Adds an operator and issues its client certificate from the operator CA. Giving the
    /// role `security-officer` while two or more active operators hold it needs a second
    /// security officer (four eyes): an operator's request is then checked and kept as a pending
    /// change, and the certificate is issued when it is approved, to whoever approves it.
    /// - Parameters:
    ///   - name: the operator's name (`OperatorID`), the certificate's subject CN.
    ///   - roles: at least one.
    ///   - grants: extra grants (`inbox-export` needs `claims-operator`).
    ///   - partners: the partner ids it may act on (each onboarded); nil for every partner.
    ///   - days: how long the certificate is valid (1 to `maxOperatorCertificateDays`).
    ///   - principal: who adds it.
    /// - Returns: the operator and its credentials, which the caller hands over (`IssuedOperator.write(to:)`).
    @discardableResult
    public func addOperator(_ name: String, roles: Set<Role>, grants: Set<OperatorGrant> = [], partners: [String]? = nil,
                            days: Int = 365, by principal: Principal) throws -> ChangeOutcome<IssuedOperator> {
        try authorize(.operatorAdd, by: principal)
        let request = try checkNewOperator(name, roles: roles, grants: grants, partners: partners, days: days)
        if try needsSecondOperator(.operatorAdd, giving: roles, by: principal) {
            return .pending(try propose(.operatorAdd, partner: nil, target: request.id.rawValue, summary: "add \(request.summary)",
                                        payload: .operatorAdd(roles: roles.sorted(), grants: grants.sorted(), partners: partners, days: days),
                                        by: principal))
        }
        return .applied(try issueOperator(request, by: principal))
    }

    /// A new operator, checked, waiting for its certificate.
    struct NewOperator {
        let id: OperatorID
        let roles: Set<Role>
        let grants: Set<OperatorGrant>
        let scope: Set<PartnerID>?
        let days: Int

        /// As `Operator.summary` will say it.
        var summary: String {
            let r = roles.sorted().map(\.rawValue).joined(separator: ",")
            let g = grants.isEmpty ? "-" : grants.sorted().map(\.rawValue).joined(separator: ",")
            return "roles=\(r) grants=\(g) partners=\(scope.map { $0.sorted().map(\.rawValue).joined(separator: ",") } ?? "*")"
        }
    }

    /// What adding an operator checks: the name, at least one role, grants that fit the roles,
    /// the certificate's days, an onboarded scope, a name never taken.
    func checkNewOperator(_ name: String, roles: Set<Role>, grants: Set<OperatorGrant>, partners: [String]?, days: Int) throws -> NewOperator {
        let id = try OperatorID(name)
        guard !roles.isEmpty else {
            throw ClaimGateError(.invalidArgument, "Operator \(id) needs at least one role: pass --role with \(Role.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        try Self.requireGrantsFit(grants, roles: roles, id)
        guard (1...Self.maxOperatorCertificateDays).contains(days) else {
            throw ClaimGateError(.invalidArgument, "--days \(days) is out of range: an operator certificate is valid 1 to \(Self.maxOperatorCertificateDays) days.")
        }
        let scope = try partners.map { try Set($0.map { try partner($0).id }) }
        if let scope, scope.isEmpty {
            throw ClaimGateError(.invalidArgument, "--partners names no partner: name at least one, or leave it out for every partner.")
        }
        if try store.operator(id) != nil {
            throw ClaimGateError(.operatorExists, "Operator \(id) exists (names of removed operators stay taken): choose another name, or see `claimgate operator show \(id)`.")
        }
        return NewOperator(id: id, roles: roles, grants: grants, scope: scope, days: days)
    }

    /// Issues a checked operator's certificate and stores it, recorded as `operator-added` (for
    /// an approved change, naming it and its proposer, with the approval in the same transaction).
    func issueOperator(_ r: NewOperator, by principal: Principal, approval: Approval? = nil) throws -> IssuedOperator {
        var key: PrivateKey?
        let (op, chain) = try storeOperator(r, by: principal, approval: approval) { now in
            let (cert, k) = try identity.issueOperatorCertificate(for: r.id, days: r.days, now: now)
            key = k
            return cert
        }
        let keyPEM: String
        do { keyPEM = try key!.pkcs8PEM() } catch let e as EnvelopeError { throw ClaimGateError(.io, "Cannot encode the operator key: \(e.message)") }
        return IssuedOperator(operator: op, certificateChainPEM: chain, privateKeyPEM: keyPEM)
    }

    /// Adds an operator whose certificate is issued for a public key it sent (a PEM public key,
    /// or a PEM certificate request whose signature is checked): the operator API's `operator
    /// add`, where the private key never leaves the operator's machine. When giving the roles
    /// needs a second security officer (four eyes), the request is checked and kept as a pending
    /// change that holds the public key (PEM, in its payload): on approval the certificate is
    /// issued for that key, and no private key is made at the gateway.
    /// - Returns: the operator and its certificate chain (PEM: the certificate, then the operator
    ///   CA; `privateKeyPEM` nil), or the pending change.
    @discardableResult
    public func addOperator(_ name: String, roles: Set<Role>, grants: Set<OperatorGrant> = [], partners: [String]? = nil,
                            days: Int = 365, publicKeyPEM: String, by principal: Principal) throws -> ChangeOutcome<IssuedOperator> {
        try authorize(.operatorAdd, by: principal)
        let publicKey = try Self.publicKey(publicKeyPEM)
        let request = try checkNewOperator(name, roles: roles, grants: grants, partners: partners, days: days)
        if try needsSecondOperator(.operatorAdd, giving: roles, by: principal) {
            let keyPEM: String
            do { keyPEM = try publicKey.pem() } catch let e as EnvelopeError { throw ClaimGateError(.invalidArgument, e.message) }
            return .pending(try propose(.operatorAdd, partner: nil, target: request.id.rawValue, summary: "add \(request.summary) (public key sent)",
                                        payload: .operatorAdd(roles: roles.sorted(), grants: grants.sorted(), partners: partners, days: days,
                                                              publicKey: keyPEM),
                                        by: principal))
        }
        return .applied(try issueOperator(request, publicKey: publicKey, by: principal))
    }

    /// A PEM public key or certificate request, read.
    static func publicKey(_ pem: String) throws -> PublicKey {
        do { return try PublicKey(pem: pem) } catch let e as EnvelopeError {
            throw ClaimGateError(.invalidArgument, e.message)
        }
    }

    /// Issues a checked operator's certificate for `publicKey` and stores it, recorded as
    /// `operator-added` (for an approved change, naming it and its proposer).
    func issueOperator(_ r: NewOperator, publicKey: PublicKey, by principal: Principal, approval: Approval? = nil) throws -> IssuedOperator {
        let (op, chain) = try storeOperator(r, by: principal, approval: approval) { now in
            try identity.issueOperatorCertificate(for: r.id, publicKey: publicKey, days: r.days, now: now)
        }
        return IssuedOperator(operator: op, certificateChainPEM: chain, privateKeyPEM: nil)
    }

    /// The certificate chain of an operator's certificate on record (PEM: the certificate, then
    /// the operator CA): public material, for handing over again or checking with `openssl
    /// verify`. Action `operator-show`.
    /// - Throws: `invalid-argument` for an operator added before the gateway kept certificates.
    public func operatorCertificateChainPEM(_ name: String, by principal: Principal) throws -> String {
        try authorize(.operatorShow, by: principal)
        let op = try storedOperator(name)
        guard let pem = try store.operatorCertificatePEM(op.id),
              let cert = try? Certificate(pem: pem), cert.sha256Fingerprint.lowercased() == op.certificate.fingerprint.lowercased() else {
            throw ClaimGateError(.invalidArgument, "Operator \(op.id)'s certificate was issued before the gateway kept certificates: it has only its fingerprint (\(op.certificate.openSSLFingerprint)); the chain is in the NAME.pem handed over then.")
        }
        return cert.pem + (try identity.operatorCA().pem)
    }

    /// Stores a checked operator with the certificate `issue` makes, recorded as `operator-added`.
    private func storeOperator(_ r: NewOperator, by principal: Principal, approval: Approval?,
                               issue: (Date) throws -> Certificate) throws -> (Operator, String) {
        try ensureOperatorCA()
        let now = clock.now
        let cert = try issue(now)
        let op = Operator(id: r.id, roles: r.roles, grants: r.grants, partners: r.scope,
                          certificate: OperatorCertificate(fingerprint: cert.sha256Fingerprint, serial: cert.serialNumber, notAfter: cert.notAfter),
                          createdBy: principal.actor.description, createdAt: now)
        let subject = "\(r.id) \(op.summary) sha256=\(op.certificate.fingerprint)"
        try store.insertOperator(op, certificatePEM: cert.pem, event: TransferEvent(
            time: now, actor: principal.actor, action: .operatorAdded, outcome: .success,
            reason: EventReason(.operatorChange, approval?.attributed(subject) ?? subject), transport: principal.transport),
            settling: approval?.settlement)
        logger.info("operator added", metadata: ["operator.id": "\(r.id)", "certificate.sha256": "\(op.certificate.fingerprint)"])
        return (op, cert.pem + (try identity.operatorCA().pem))
    }

    /// Suspends an operator: every action it asks for is refused (`operator-suspended`) until it is resumed.
    @discardableResult
    public func suspendOperator(_ name: String, by principal: Principal) throws -> Operator {
        try changeState(name, to: .suspended, from: [.active], action: .operatorSuspend, event: .operatorSuspended, by: principal)
    }

    /// Lifts a suspension.
    @discardableResult
    public func resumeOperator(_ name: String, by principal: Principal) throws -> Operator {
        try changeState(name, to: .active, from: [.suspended], action: .operatorResume, event: .operatorResumed, by: principal)
    }

    /// Removes an operator for good: it can never act again, and its name stays taken so the
    /// audit trail's `operator:<name>` keeps meaning one operator.
    @discardableResult
    public func removeOperator(_ name: String, by principal: Principal) throws -> Operator {
        try changeState(name, to: .removed, from: [.active, .suspended], action: .operatorRemove, event: .operatorRemoved, by: principal)
    }

    /// Gives an operator a role or a grant. Giving `security-officer` while two or more active
    /// operators hold it needs a second security officer (four eyes): an operator's request is
    /// then checked and kept as a pending change.
    @discardableResult
    public func grantOperator(_ name: String, _ right: OperatorRight, by principal: Principal) throws -> ChangeOutcome<Operator> {
        try authorize(.operatorGrant, by: principal)
        let op = try storedOperator(name)
        var after = op
        try Self.give(right, to: &after)
        if case .role(let role) = right, try needsSecondOperator(.operatorGrant, giving: [role], by: principal) {
            return .pending(try propose(.operatorGrant, partner: nil, target: op.id.rawValue, summary: "grant \(role)",
                                        payload: .grant(role: role), by: principal))
        }
        return .applied(try applyGrant(op.id, right, by: principal))
    }

    /// Gives `right` to the stored operator, recorded as `operator-granted` (for an approved
    /// change, naming it and its proposer, with the approval in the same transaction).
    func applyGrant(_ id: OperatorID, _ right: OperatorRight, by principal: Principal, approval: Approval? = nil) throws -> Operator {
        try changeRights(id.rawValue, event: .operatorGranted, by: principal, approval: approval) { op in
            try Self.give(right, to: &op)
        } note: { "\(right)" }
    }

    /// `right` given to `op`; throws when it holds it already, or when a grant does not fit its roles.
    static func give(_ right: OperatorRight, to op: inout Operator) throws {
        guard op.state != .removed else {
            throw ClaimGateError(.invalidArgument, "Operator \(op.id) was removed: its rights can no longer change.")
        }
        switch right {
        case .role(let r):
            guard op.roles.insert(r).inserted else { throw Self.unchanged(op.id, "already holds \(r)") }
        case .grant(let g):
            guard op.grants.insert(g).inserted else { throw Self.unchanged(op.id, "already has the grant \(g)") }
            try Self.requireGrantsFit(op.grants, roles: op.roles, op.id)
        }
    }

    /// Takes a role or a grant back from an operator (a claims operator's `inbox-export` goes with
    /// its role).
    @discardableResult
    public func revokeOperator(_ name: String, _ right: OperatorRight, by principal: Principal) throws -> Operator {
        try authorize(.operatorRevoke, by: principal)
        return try changeRights(name, event: .operatorRevoked, by: principal) { op in
            switch right {
            case .role(let r):
                guard op.roles.remove(r) != nil else { throw Self.unchanged(op.id, "does not hold \(r)") }
                if r == .claimsOperator { op.grants.remove(.inboxExport) }
            case .grant(let g):
                guard op.grants.remove(g) != nil else { throw Self.unchanged(op.id, "does not have the grant \(g)") }
            }
        } note: { "\(right)" }
    }

    /// Every operator (removed ones too), by name.
    public func operators(by principal: Principal) throws -> [Operator] {
        try authorize(.operatorList, by: principal)
        return try store.operators()
    }

    /// One operator as stored.
    public func `operator`(_ name: String, by principal: Principal) throws -> Operator {
        try authorize(.operatorShow, by: principal)
        return try storedOperator(name)
    }

    func storedOperator(_ name: String) throws -> Operator {
        let id = try OperatorID(name)
        guard let op = try store.operator(id) else {
            throw ClaimGateError(.unknownOperator, "There is no operator \(id): see `claimgate operator list`.")
        }
        return op
    }

    private func changeState(_ name: String, to state: OperatorState, from: Set<OperatorState>, action: OperatorAction,
                             event: TransferEvent.Action, by principal: Principal) throws -> Operator {
        try authorize(action, by: principal)
        let id = try storedOperator(name).id
        let now = clock.now
        let op = try store.updateOperator(id, change: { op in
            guard from.contains(op.state) else {
                throw ClaimGateError(.invalidArgument, "Operator \(id) is \(op.state.rawValue): `claimgate operator \(action.command.split(separator: " ").last ?? "")` changes only an operator that is \(from.map(\.rawValue).sorted().joined(separator: " or ")).")
            }
            op.state = state
        }, event: { _, after in
            TransferEvent(time: now, actor: principal.actor, action: event, outcome: .success,
                          reason: EventReason(.operatorChange, "\(id) state=\(after.state.rawValue)"), transport: principal.transport)
        })
        logger.info("operator changed", metadata: ["operator.id": "\(id)", "operator.state": "\(state.rawValue)"])
        return op
    }

    private func changeRights(_ name: String, event: TransferEvent.Action, by principal: Principal, approval: Approval? = nil,
                              _ change: @escaping (inout Operator) throws -> Void, note: () -> String) throws -> Operator {
        let id = try storedOperator(name).id
        let now = clock.now
        let what = note()
        return try store.updateOperator(id, change: { op in
            guard op.state != .removed else {
                throw ClaimGateError(.invalidArgument, "Operator \(id) was removed: its rights can no longer change.")
            }
            try change(&op)
        }, event: { _, after in
            let subject = "\(id) \(what) -> \(after.summary)"
            return TransferEvent(time: now, actor: principal.actor, action: event, outcome: .success,
                                 reason: EventReason(.operatorChange, approval?.attributed(subject) ?? subject), transport: principal.transport)
        }, settling: approval?.settlement)
    }

    static func unchanged(_ id: OperatorID, _ why: String) -> ClaimGateError {
        ClaimGateError(.invalidArgument, "Operator \(id) \(why): nothing to change (see `claimgate operator show \(id)`).")
    }

    /// `inbox-export` is a claims operator's grant: alone it allows nothing.
    private static func requireGrantsFit(_ grants: Set<OperatorGrant>, roles: Set<Role>, _ id: OperatorID) throws {
        if grants.contains(.inboxExport), !roles.contains(.claimsOperator) {
            throw ClaimGateError(.invalidArgument, "The grant inbox-export lets a claims operator export inbound documents: give operator \(id) the role claims-operator as well, or leave the grant out.")
        }
    }
}
