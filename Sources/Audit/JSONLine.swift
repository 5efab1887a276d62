import Foundation

/// The small, strict JSON subset of audit exports: one flat object per line whose values are
/// strings, integers, `null` or arrays of strings. Written and read here, byte by byte, because a
/// log of a million lines should export and verify in seconds.
enum JSONValue: Equatable {
    case string(String)
    case integer(Int64)
    case strings([String])
    case null
    /// A string of exactly 64 hex digits under a digest key (`prev`, `hash`, `head`), decoded.
    case digest([UInt8])
}

/// The member names of export lines.
enum ExportKey: Int, CaseIterable {
    case type, seq, time, actor, action, outcome, partner, claim, bundle, purpose, digests, bytes, reason
    case transport, client, prev, hash, head, keyID, signature
    case version, entryHash, exported, publicKey, checkpointSignature

    var name: String {
        switch self {
        case .keyID: return "key_id"
        case .entryHash: return "entry_hash"
        case .publicKey: return "public_key"
        case .checkpointSignature: return "checkpoint_signature"
        default: return "\(self)"
        }
    }

    /// Whether the value is a 32-byte digest written as 64 hex digits.
    var isDigest: Bool { self == .prev || self == .hash || self == .head }

    private static let names: [[UInt8]] = allCases.map { Array($0.name.utf8) }

    static func find(_ bytes: UnsafeBufferPointer<UInt8>) -> ExportKey? {
        for (n, name) in names.enumerated() where name.count == bytes.count {
            if name.withUnsafeBufferPointer({ memcmp($0.baseAddress!, bytes.baseAddress!, bytes.count) == 0 }) {
                return ExportKey(rawValue: n)
            }
        }
        return nil
    }
}

/// One parsed line: the value of each known key, and the names of unknown ones.
struct JSONLine {
    private var values = [JSONValue?](repeating: nil, count: ExportKey.allCases.count)
    private(set) var unknownKeys: [String] = []

    subscript(key: ExportKey) -> JSONValue? { values[key.rawValue] }

    fileprivate mutating func set(_ key: ExportKey, _ value: JSONValue) -> Bool {
        guard values[key.rawValue] == nil else { return false }
        values[key.rawValue] = value
        return true
    }

    fileprivate mutating func addUnknown(_ key: String) -> Bool {
        guard !unknownKeys.contains(key) else { return false }
        unknownKeys.append(key)
        return true
    }
}

/// Why a line is not valid; becomes an `AuditError` naming the line number.
struct JSONLineError: Error {
    let reason: String
}

/// Reads one flat JSON object from a line's bytes.
struct JSONLineParser {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var i = 0
    private var scratch: [UInt8] = []

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// The object's members. Rejects duplicate keys and trailing text.
    mutating func parse() throws(JSONLineError) -> JSONLine {
        var line = JSONLine()
        skipSpace()
        try expect(0x7B, "the line does not start with '{'")
        skipSpace()
        if peek == 0x7D {
            i += 1
        } else {
            while true {
                skipSpace()
                guard peek == 0x22 else { throw fail("expected a key in double quotes") }
                let (key, unknown) = try self.key()
                skipSpace()
                try expect(0x3A, "expected ':' after a key")
                skipSpace()
                let value = try self.value(digest: key?.isDigest ?? false)
                let fresh = if let key { line.set(key, value) } else { line.addUnknown(unknown!) }
                guard fresh else {
                    throw JSONLineError(reason: "the key \"\((key?.name ?? unknown!).prefix(32))\" appears twice")
                }
                skipSpace()
                if peek == 0x2C { i += 1; continue }
                try expect(0x7D, "expected ',' or '}'")
                break
            }
        }
        skipSpace()
        guard i == bytes.count else { throw fail("unexpected text after the object") }
        return line
    }

    /// A member name: a known key (matched on its bytes, no allocation) or the unknown name.
    private mutating func key() throws(JSONLineError) -> (ExportKey?, String?) {
        let start = i + 1
        var end = start
        while end < bytes.count, bytes[end] != 0x22, bytes[end] != 0x5C, bytes[end] >= 0x20 { end += 1 }
        if end < bytes.count, bytes[end] == 0x22, let key = ExportKey.find(UnsafeBufferPointer(rebasing: bytes[start..<end])) {
            i = end + 1
            return (key, nil)
        }
        let name = try string()
        return (ExportKey.allCases.first { $0.name == name }, name)
    }

    private var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

    private func fail(_ reason: String) -> JSONLineError {
        JSONLineError(reason: "\(reason) (column \(i + 1))")
    }

    private mutating func expect(_ byte: UInt8, _ reason: String) throws(JSONLineError) {
        guard peek == byte else { throw fail(reason) }
        i += 1
    }

    private mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0D || bytes[i] == 0x0A { i += 1 }
    }

    private mutating func value(digest: Bool) throws(JSONLineError) -> JSONValue {
        guard let c = peek else { throw fail("expected a value") }
        switch c {
        case 0x22:
            if digest, let d = hexDigest() { return .digest(d) }
            return .string(try string())
        case 0x2D, 0x30...0x39: return .integer(try integer())
        case 0x6E:
            guard i + 4 <= bytes.count, bytes[i + 1] == 0x75, bytes[i + 2] == 0x6C, bytes[i + 3] == 0x6C else {
                throw fail("unexpected value")
            }
            i += 4
            return .null
        case 0x5B:
            i += 1
            var items: [String] = []
            skipSpace()
            if peek == 0x5D { i += 1; return .strings(items) }
            while true {
                skipSpace()
                guard peek == 0x22 else { throw fail("expected a string in the array") }
                items.append(try string())
                skipSpace()
                if peek == 0x2C { i += 1; continue }
                try expect(0x5D, "expected ',' or ']' in the array")
                return .strings(items)
            }
        default:
            throw fail("unexpected value: only strings, integers, null and arrays of strings are used")
        }
    }

    /// 64 hex digits between quotes, decoded; nil (and nothing consumed) for anything else.
    private mutating func hexDigest() -> [UInt8]? {
        guard i + 66 <= bytes.count, bytes[i + 65] == 0x22 else { return nil }
        let digits = UnsafeBufferPointer(rebasing: bytes[(i + 1)..<(i + 65)])
        var bad: UInt8 = 0
        let out = [UInt8](unsafeUninitializedCapacity: 32) { out, count in
            Self.hexValues.withUnsafeBufferPointer { table in
                for n in 0..<32 {
                    let hi = table[Int(digits[2 * n])], lo = table[Int(digits[2 * n + 1])]
                    bad |= (hi | lo) & 0xF0
                    out[n] = hi << 4 | lo
                }
            }
            count = 32
        }
        guard bad == 0 else { return nil }
        i += 66
        return out
    }

    /// The value of each hex digit; 0xFF for other bytes.
    private static let hexValues: [UInt8] = (0..<256).map { c -> UInt8 in
        switch c {
        case 0x30...0x39: return UInt8(c - 0x30)
        case 0x61...0x66: return UInt8(c - 0x61 + 10)
        case 0x41...0x46: return UInt8(c - 0x41 + 10)
        default: return 0xFF
        }
    }

    /// A JSON integer that fits in 64 bits: no fraction, no exponent, no leading zeros.
    private mutating func integer() throws(JSONLineError) -> Int64 {
        let start = i
        let negative = peek == 0x2D
        if negative { i += 1 }
        var v: Int64 = 0
        var digits = 0
        while let c = peek, c >= 0x30, c <= 0x39 {
            let d = Int64(c - 0x30)
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = negative ? m.subtractingReportingOverflow(d) : m.addingReportingOverflow(d)
            guard !o1, !o2 else { throw fail("number out of range") }
            v = s
            digits += 1
            i += 1
        }
        guard digits > 0 else { throw fail("expected a number") }
        if digits > 1, bytes[start + (negative ? 1 : 0)] == 0x30 { throw fail("number with a leading zero") }
        if let c = peek, c == 0x2E || c == 0x65 || c == 0x45 { throw fail("expected a whole number") }
        return v
    }

    /// A JSON string: must be valid UTF-8 without raw control characters; escapes decoded.
    private mutating func string() throws(JSONLineError) -> String {
        i += 1   // opening quote
        let start = i
        // Fast path: no escape before the closing quote.
        while i < bytes.count {
            let c = bytes[i]
            if c == 0x22 {
                let s = try utf8(UnsafeBufferPointer(rebasing: bytes[start..<i]))
                i += 1
                return s
            }
            if c == 0x5C { break }
            if c < 0x20 { throw fail("control character inside a string") }
            i += 1
        }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<i]))
        while i < bytes.count {
            let c = bytes[i]
            i += 1
            switch c {
            case 0x22:
                return try scratch.withUnsafeBufferPointer { buf throws(JSONLineError) in try utf8(buf) }
            case 0x5C:
                guard let e = peek else { throw fail("unfinished escape") }
                i += 1
                switch e {
                case 0x22, 0x5C, 0x2F: scratch.append(e)
                case 0x62: scratch.append(0x08)
                case 0x66: scratch.append(0x0C)
                case 0x6E: scratch.append(0x0A)
                case 0x72: scratch.append(0x0D)
                case 0x74: scratch.append(0x09)
                case 0x75:
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard i + 6 <= bytes.count, bytes[i] == 0x5C, bytes[i + 1] == 0x75 else {
                            throw fail("unpaired surrogate in \\u escape")
                        }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired surrogate in \\u escape") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw fail("unpaired surrogate in \\u escape")
                    }
                    scratch.append(contentsOf: Unicode.UTF8.encode(Unicode.Scalar(scalar)!)!)
                default:
                    throw fail("unknown escape")
                }
            default:
                if c < 0x20 { throw fail("control character inside a string") }
                scratch.append(c)
            }
        }
        throw fail("unfinished string")
    }

    private mutating func hex4() throws(JSONLineError) -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            default: throw fail("bad \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    private func utf8(_ buf: UnsafeBufferPointer<UInt8>) throws(JSONLineError) -> String {
        // ASCII (almost every value) needs no validation; `String(validating:)` is generic and slower.
        var high: UInt8 = 0
        for b in buf { high |= b }
        if high < 0x80 { return String(decoding: buf, as: UTF8.self) }
        guard let s = String(validating: buf, as: UTF8.self) else { throw fail("a string is not valid UTF-8") }
        return s
    }
}

/// Appends JSON text to a byte buffer.
struct JSONLineWriter {
    var bytes: [UInt8] = []

    mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// `"key":` preceded by `,` unless it is the first member.
    mutating func key(_ k: StaticString) {
        bytes.append(0x2C)
        bytes.append(0x22)
        raw(k)
        bytes.append(0x22)
        bytes.append(0x3A)
    }

    mutating func string(_ s: String) {
        bytes.append(0x22)
        var s = s
        s.withUTF8 { u in
            var plain = true
            for c in u where c < 0x20 || c == 0x22 || c == 0x5C { plain = false; break }
            if plain { bytes.append(contentsOf: u); return }
            for c in u {
                switch c {
                case 0x22: bytes.append(0x5C); bytes.append(0x22)
                case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
                case 0x0A: bytes.append(0x5C); bytes.append(0x6E)
                case 0x0D: bytes.append(0x5C); bytes.append(0x72)
                case 0x09: bytes.append(0x5C); bytes.append(0x74)
                case 0..<0x20:
                    raw("\\u00")
                    bytes.append(Self.hexDigits[Int(c >> 4)])
                    bytes.append(Self.hexDigits[Int(c & 0xF)])
                default: bytes.append(c)
                }
            }
        }
        bytes.append(0x22)
    }

    mutating func integer(_ v: Int64) {
        if v == 0 { bytes.append(0x30); return }
        var digits: [UInt8] = []
        var m = v.magnitude
        while m > 0 { digits.append(0x30 + UInt8(m % 10)); m /= 10 }
        if v < 0 { bytes.append(0x2D) }
        bytes.append(contentsOf: digits.reversed())
    }

    mutating func hex(_ b: [UInt8]) {
        bytes.append(0x22)
        for x in b {
            bytes.append(Self.hexDigits[Int(x >> 4)])
            bytes.append(Self.hexDigits[Int(x & 0xF)])
        }
        bytes.append(0x22)
    }

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}
