import Foundation

/// An operator may act at all: it exists, is active, and, through the operator API, presents the
/// certificate on record, which has not expired. A web console session carries no certificate:
/// its credentials (password, TOTP) were checked at sign-in and its idle timeout when read.
public struct OperatorStanding: Policy {
    public let clock: any WallClock

    public init(clock: any WallClock) { self.clock = clock }

    public func evaluate(_ r: OperatorRequest) -> PolicyResult {
        guard let op = r.stored else {
            return .fails(Refusal(.unknownOperator, "There is no operator \(r.operatorID): ask a security officer to add one with `claimgate operator add`."))
        }
        switch op.state {
        case .removed:
            return .fails(Refusal(.operatorRemoved, "Operator \(op.id) was removed: it can no longer act; a security officer can add a new operator."))
        case .suspended:
            return .fails(Refusal(.operatorSuspended, "Operator \(op.id) is suspended: ask a security officer to run `claimgate operator resume \(op.id)`."))
        case .active: break
        }
        guard let fingerprint = r.fingerprint else { return .meets }
        guard op.certificate.fingerprint == fingerprint.lowercased() else {
            return .fails(Refusal(.operatorCertificateMismatch, "The certificate presented for operator \(op.id) is not the one on record: use the certificate `claimgate operator add` issued (see `claimgate operator show \(op.id)`)."))
        }
        guard clock.now <= op.certificate.notAfter else {
            return .fails(Refusal(.certificateNotValid, "Operator \(op.id)'s certificate expired on \(Timestamp.format(op.certificate.notAfter)): ask a security officer for a new one."))
        }
        return .meets
    }
}
