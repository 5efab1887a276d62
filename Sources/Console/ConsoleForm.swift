import ClaimGateCore
import Foundation
import Hummingbird

/// A submitted `application/x-www-form-urlencoded` form (or a query string): each field's
/// first value, and every value of a repeated one.
struct ConsoleForm: Sendable {
    private(set) var fields: [String: String] = [:]
    /// Every value of each field, in order (checkboxes send one pair each).
    private(set) var repeated: [String: [String]] = [:]

    /// Parses `a=1&b=x+y` (`+` is a space, percent escapes are decoded; malformed pairs are
    /// skipped; the first value of a repeated field wins).
    init(_ encoded: String) {
        for pair in encoded.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]), !name.isEmpty else { continue }
            let value = parts.count > 1 ? Self.decode(parts[1]) ?? "" : ""
            if fields[name] == nil { fields[name] = value }
            repeated[name, default: []].append(value)
        }
    }

    subscript(_ name: String) -> String? { fields[name] }

    /// Every non-blank value of a repeated field (checkboxes), trimmed, in order.
    func values(_ name: String) -> [String] {
        (repeated[name] ?? []).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }

    /// The value, trimmed; nil when absent or blank.
    func trimmed(_ name: String) -> String? {
        guard let v = fields[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else { return nil }
        return v
    }

    private static func decode(_ s: Substring) -> String? {
        String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    /// Reads a form body of at most `limit` bytes.
    /// - Throws: `ClaimGateError(.invalidArgument)` when it is larger.
    static func read(_ request: Request, limit: Int = 256 << 10) async throws -> ConsoleForm {
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: limit) } catch {
            throw ClaimGateError(.invalidArgument, "The form is larger than the \(limit >> 10) KiB a form may be.")
        }
        return ConsoleForm(String(buffer: body))
    }

    /// A value percent-encoded for a query (`/bundles?x=1` → `%2Fbundles%3Fx%3D1`).
    static func queryEncoded(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}
