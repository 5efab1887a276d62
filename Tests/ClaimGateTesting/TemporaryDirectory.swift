import Foundation

/// A private temporary folder, removed when the value is released.
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String

    public init(_ label: String = "claimgate-test") {
        let p = NSTemporaryDirectory() + "/\(label)-" + UUID().uuidString.lowercased().prefix(12)
        try! FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        path = URL(fileURLWithPath: p).standardizedFileURL.path
        Cleanup.register(folder: path)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
        Cleanup.unregister(folder: path)
    }

    public func file(_ name: String) -> String { path + "/" + name }

    /// Writes `data` to `name` and returns its path.
    @discardableResult
    public func write(_ name: String, _ data: Data) throws -> String {
        let p = file(name)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: p))
        return p
    }

    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String { try write(name, Data(text.utf8)) }

    /// Every file below the folder, relative paths, sorted.
    public func listing(_ sub: String = "") -> [String] {
        let root = sub.isEmpty ? path : file(sub)
        guard let e = FileManager.default.enumerator(atPath: root) else { return [] }
        return e.compactMap { $0 as? String }.sorted()
    }
}
