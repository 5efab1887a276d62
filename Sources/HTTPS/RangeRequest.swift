/// What a download serves for a `Range` header, read as RFC 9110 §14 says: one byte range, or
/// the whole file, or nothing (`416`).
///
/// - A header the routes do not serve is ignored (§14.2 lets a server ignore a range it does not
///   understand or an invalid one): another unit, bad syntax, `last < first`, or several ranges
///   (no `multipart/byteranges` here). The whole file goes out with `200`.
/// - A range reaching past the file is cut to it: `bytes=-n` with `n` past the size is the whole
///   file, `bytes=a-b` with `b` past the end stops at the end (`206`, as nginx answers; numbers
///   too long for 64 bits are just very large).
/// - Only a well-formed range that selects no byte is unsatisfiable: a first byte at or past the
///   end, or `bytes=-0`.
enum RangeRequest: Equatable, Sendable {
    /// No range applies: the whole file, `200`.
    case whole
    /// These bytes, `206` with `Content-Range`.
    case range(ClosedRange<Int>)
    /// `416` with `Content-Range: bytes */size`.
    case unsatisfiable

    /// Reads a `Range` header (`nil`: none) for a file of `size` bytes.
    static func parse(_ header: String?, size: Int64) -> RangeRequest {
        guard let header else { return .whole }
        let text = Substring(header)
        guard let equals = text.firstIndex(of: "=") else { return .whole }
        guard trimmed(text[..<equals]).lowercased() == "bytes" else { return .whole }
        // `1#range-spec`: a list whose empty elements do not count (RFC 9110 §5.6.1).
        let specs = text[text.index(after: equals)...].split(separator: ",", omittingEmptySubsequences: false)
            .map(trimmed).filter { !$0.isEmpty }
        guard specs.count == 1, let spec = specs.first, let dash = spec.firstIndex(of: "-") else { return .whole }
        let first = spec[..<dash], last = spec[spec.index(after: dash)...]
        if first.isEmpty {
            // suffix-range: the last n bytes, all of them when the file is shorter.
            guard let n = number(last) else { return .whole }
            guard n > 0, size > 0 else { return n > 0 ? .whole : .unsatisfiable }
            return .range(Int(size - min(n, size))...Int(size - 1))
        }
        guard let a = number(first) else { return .whole }
        let b: Int64?
        if last.isEmpty { b = nil } else {
            guard let end = number(last) else { return .whole }
            b = end
        }
        if let b, b < a { return .whole }   // invalid: ignored
        guard a < size else { return .unsatisfiable }
        return .range(Int(a)...Int(min(b ?? (size - 1), size - 1)))
    }

    /// `1*DIGIT`, saturating at `Int64.max` (a number past the file is past it however long).
    private static func number(_ s: Substring) -> Int64? {
        guard !s.isEmpty, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int64(s) ?? .max
    }

    /// Without optional whitespace (SP, HTAB) around it.
    private static func trimmed(_ s: Substring) -> Substring {
        let isOWS: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = s.firstIndex(where: { !isOWS($0) }), let end = s.lastIndex(where: { !isOWS($0) }) else { return "" }
        return s[start...end]
    }
}
