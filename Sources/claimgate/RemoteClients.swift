import OperatorClient
import Synchronization

/// The operator API clients this process opened, closed when the command is done.
enum RemoteClients {
    private static let opened = Mutex<[OperatorAPIClient]>([])

    static func open(_ configuration: OperatorClientConfiguration) throws -> OperatorAPIClient {
        let client = try OperatorAPIClient(configuration)
        opened.withLock { $0.append(client) }
        return client
    }

    static func closeAll() {
        for client in opened.withLock({ list in defer { list.removeAll() }; return list }) { client.shutdown() }
    }
}
