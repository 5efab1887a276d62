import Hummingbird
import NIOCore

/// A request context that keeps the client's address, for the audit entries of logins and
/// refusals.
struct ConsoleRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The client's IP address (no port); `-` when the connection has none.
    let clientAddress: String

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        clientAddress = source.channel.remoteAddress?.ipAddress ?? "-"
    }
}
