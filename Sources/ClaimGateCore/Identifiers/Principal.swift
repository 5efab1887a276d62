/// Who acts through an operation: every operation that changes something or reads the audit
/// trail out takes one, and its audit entries name it. Today the local administrator at the
/// gateway host's shell or the gateway's own jobs; operators with roles come next.
public enum Principal: Sendable, Hashable, CustomStringConvertible {
    /// Someone at the gateway host's shell, named by the operating-system user that runs the
    /// command (`admin:<user>` in the audit trail).
    case localAdministrator(String)
    /// The gateway itself: `serve`'s jobs (push retries, purge, checkpoints).
    case system

    /// How the audit trail names the principal.
    public var actor: Actor {
        switch self {
        case .localAdministrator(let user): return .admin(EventReason.bounded(user))   // from the environment: escaped
        case .system: return .system
        }
    }

    public var description: String { actor.description }
}
