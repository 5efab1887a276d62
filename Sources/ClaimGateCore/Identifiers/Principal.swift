/// Who acts through an operation: every operation that changes something or reads the audit
/// trail out takes one, checks it (operators through `OperatorPolicy`) and names it in its audit
/// entries.
public enum Principal: Sendable, Hashable, CustomStringConvertible {
    /// Someone at the gateway host's shell, by the process's real user id and that account's
    /// name (`local:uid=<uid>(<name>)` in the audit trail). Never taken from `$USER`. Local use
    /// keeps every right: it is how a gateway is set up (bootstrap) and the break-glass path.
    case local(uid: UInt32, name: String?)
    /// An operator, authenticated by its client certificate from the gateway's operator CA:
    /// its name and the certificate's SHA-256 fingerprint (lowercase hex).
    case `operator`(OperatorID, fingerprint: String)
    /// An operator signed in to the web console with its password and TOTP, and the session's
    /// public reference (16 hex; never the cookie's secret).
    case consoleOperator(OperatorID, session: String)
    /// The gateway itself (push attempts, checkpoints, key creation).
    case system
    /// One of `serve`'s scheduled jobs (`system:<job>`).
    case scheduled(ScheduledJob)

    /// How the audit trail names the principal.
    public var actor: Actor {
        switch self {
        case .local(let uid, let name): return .local(uid: uid, name: name.map(EventReason.bounded))   // an account name: escaped
        case .operator(let id, let fingerprint): return .operator(id, fingerprint: EventReason.bounded(fingerprint.lowercased()))
        case .consoleOperator(let id, let session): return .consoleOperator(id, session: EventReason.bounded(session.lowercased()))
        case .system: return .system
        case .scheduled(let job): return .scheduled(job)
        }
    }

    /// The transport the principal's actions are recorded with: an operator acts through the
    /// operator API (its certificate is its only credential) or the web console (its session),
    /// everyone else at the gateway host (`cli`).
    public var transport: Transport {
        switch self {
        case .operator: return .operatorAPI
        case .consoleOperator: return .console
        default: return .cli
        }
    }

    /// The operator acting and the certificate it presented (nil for a console session), for
    /// `OperatorPolicy`; nil for the shell and the gateway.
    public var operatorCredential: (OperatorID, String?)? {
        switch self {
        case .operator(let id, let fingerprint): return (id, fingerprint)
        case .consoleOperator(let id, _): return (id, nil)
        default: return nil
        }
    }

    /// The operator acting, through either front end; nil for the shell and the gateway.
    public var operatorID: OperatorID? {
        switch self {
        case .operator(let id, _), .consoleOperator(let id, _): return id
        default: return nil
        }
    }

    public var description: String { actor.description }
}
