import ClaimGateCore
import Foundation
import NIOHTTP1
import OperatorClient
import Operations

/// What a change through the operator API came to: applied (the answer's view), or kept
/// waiting for a second operator (202 `{"pending": ID, "change": …}`).
enum RemoteOutcome<T> {
    case applied(T)
    case pending(PendingChangeView)
}

/// The operator API's answers decoded into the views a local command prints.
extension OperatorAPIClient {
    func get<T: Decodable>(_ path: [String], query: [(String, String?)] = []) throws -> T {
        try decode(T.self, from: call(.GET, path, query: query.compactMap { q in q.1.map { (q.0, $0) } }))
    }

    func get<T: Decodable>(_ type: T.Type, _ path: [String], query: [(String, String?)] = []) throws -> T {
        try get(path, query: query)
    }

    func post<T: Decodable>(_ path: [String], body: (some Encodable)? = Optional<Empty>.none, method: HTTPMethod = .POST) throws -> T {
        try decode(T.self, from: call(method, path, json: try body.map { try JSONEncoder().encode($0) }))
    }

    func post<T: Decodable>(_ type: T.Type, _ path: [String], json: Data) throws -> T {
        try decode(T.self, from: call(.POST, path, json: json))
    }

    /// A change that four eyes may keep waiting.
    func change<T: Decodable>(_ type: T.Type, _ path: [String], body: (some Encodable)? = Optional<Empty>.none,
                              method: HTTPMethod = .POST) throws -> RemoteOutcome<T> {
        let reply = try call(method, path, json: try body.map { try JSONEncoder().encode($0) })
        if reply.status == 202 {
            let p = try decode(PendingAnswer.self, from: reply)
            if let change = p.change { return .pending(change) }
            do { return .pending(try get(PendingChangeView.self, ["v1", "pending", p.pending])) } catch {
                throw ClaimGateError(.io, "The gateway kept the change waiting as \(p.pending) but did not describe it: see `claimgate pending show \(p.pending)`.")
            }
        }
        return .applied(try decode(T.self, from: reply))
    }

    func decode<T: Decodable>(_ type: T.Type, from reply: Reply) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: reply.body) } catch {
            throw ClaimGateError(.io, "The gateway's answer is not what this claimgate expects (\(error)): are the gateway and this command the same version?")
        }
    }

    /// Uploads documents for `send` or `seal`, each as a stream, and names them as a local
    /// command would (by their file names).
    func uploadDocuments(_ paths: [String]) throws -> [RemoteDocument] {
        try paths.map { path in
            let fd = try FileSystem.openInput(path, what: "document")
            let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
            defer { try? handle.close() }
            let size = try handle.seekToEnd()
            try handle.seek(toOffset: 0)
            struct Uploaded: Decodable { let upload: String }
            let reply = try upload(handle, size: Int64(size), to: ["v1", "uploads"])
            return RemoteDocument(upload: try decode(Uploaded.self, from: reply).upload, name: URL(fileURLWithPath: path).lastPathComponent)
        }
    }
}

/// An uploaded document as `send` and `seal` name it.
struct RemoteDocument: Encodable {
    let upload: String
    let name: String
}

/// No body.
struct Empty: Codable {}

/// A 202 answer: the change four eyes keeps waiting.
struct PendingAnswer: Decodable {
    let pending: String
    let change: PendingChangeView?
}
