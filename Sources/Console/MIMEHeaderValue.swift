import ClaimGateCore

/// A header value of the form `type; name=value; name="quoted value"` (`Content-Type`,
/// `Content-Disposition`): RFC 9110 §5.6.6 parameters with RFC 9110 §5.6.4 quoted strings
/// (`\"` and `\\` escapes), and RFC 8187 (RFC 5987) extended values such as
/// `filename*=UTF-8''%E4%B8%AD.pdf`, decoded. Parameter names are lowercased; a name given twice
/// is refused.
struct MIMEHeaderValue: Equatable {
    /// The value before the first `;`, lowercased (`multipart/form-data`, `form-data`).
    var type: String
    /// The parameters by lowercased name; an extended one (`filename*`) keeps its `*` and is
    /// already decoded.
    var parameters: [String: String]

    /// - Parameter header: the field's value, as received.
    /// - Parameter what: the header's name, for error messages.
    init(parsing header: String, what: String) throws {
        func malformed(_ why: String) -> ClaimGateError {
            ClaimGateError(.invalidArgument, "The form is not valid: its \(what) header \(why).")
        }
        let s = Array(header.unicodeScalars)
        var i = 0
        func skipOWS() { while i < s.count, s[i] == " " || s[i] == "\t" { i += 1 } }
        func token() -> String {
            var t = String.UnicodeScalarView()
            while i < s.count, !";=\" \t".unicodeScalars.contains(s[i]) { t.append(s[i]); i += 1 }
            return String(t)
        }

        skipOWS()
        type = token().lowercased()
        guard !type.isEmpty else { throw malformed("has no type") }
        parameters = [:]
        while true {
            skipOWS()
            guard i < s.count else { break }
            guard s[i] == ";" else { throw malformed("has text after its type that is not a parameter") }
            i += 1
            skipOWS()
            if i == s.count { break }          // a trailing ';'
            if s[i] == ";" { continue }         // an empty parameter
            let name = token().lowercased()
            skipOWS()
            guard !name.isEmpty, i < s.count, s[i] == "=" else { throw malformed("has a parameter without a value") }
            i += 1
            skipOWS()
            var value = String.UnicodeScalarView()
            if i < s.count, s[i] == "\"" {
                i += 1
                var closed = false
                while i < s.count {
                    if s[i] == "\\", i + 1 < s.count { value.append(s[i + 1]); i += 2; continue }
                    if s[i] == "\"" { closed = true; i += 1; break }
                    value.append(s[i]); i += 1
                }
                guard closed else { throw malformed("has a quoted parameter without its closing quote") }
            } else {
                while i < s.count, s[i] != ";", s[i] != " ", s[i] != "\t" { value.append(s[i]); i += 1 }
            }
            guard parameters[name] == nil else { throw malformed("gives the parameter '\(name.prefix(40))' twice") }
            if name.hasSuffix("*") {
                guard let decoded = Self.extendedValue(String(value)) else {
                    throw malformed("has an extended parameter '\(name.prefix(40))' that is not UTF-8''percent-encoded text")
                }
                parameters[name] = decoded
            } else {
                parameters[name] = String(value)
            }
        }
    }

    /// An RFC 8187 `ext-value`: `charset'language'pct-encoded`, with charset UTF-8 or ISO-8859-1.
    static func extendedValue(_ text: String) -> String? {
        let parts = text.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var bytes: [UInt8] = []
        var u = Array(parts[2].utf8)[...]
        while let c = u.first {
            u = u.dropFirst()
            if c == UInt8(ascii: "%") {
                guard u.count >= 2, let h = hex(u[u.startIndex]), let l = hex(u[u.startIndex + 1]) else { return nil }
                bytes.append(h << 4 | l)
                u = u.dropFirst(2)
            } else {
                bytes.append(c)
            }
        }
        switch parts[0].lowercased() {
        case "utf-8": return String(validating: bytes, as: UTF8.self)
        case "iso-8859-1": return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        default: return nil
        }
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
