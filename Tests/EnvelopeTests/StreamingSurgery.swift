import Foundation

/// A small BER walker for the tests: finds elements in real bundles by their position in the
/// structure, so tests can flip, replace or re-encode exactly the part they mean.
enum StreamingSurgery {
    struct Element {
        let start: Int
        let headerLength: Int
        /// nil for an indefinite length.
        let length: Int?
        let end: Int
        var contentStart: Int { start + headerLength }
        var range: Range<Int> { start..<end }
    }

    /// The element starting at `i` (definite or indefinite, nested).
    static func element(_ b: [UInt8], at i: Int) -> Element {
        let first = Int(b[i + 1])
        var hl = 2, length: Int?
        if first < 0x80 { length = first } else if first > 0x80 {
            let n = first & 0x7F
            length = b[(i + 2)..<(i + 2 + n)].reduce(0) { $0 << 8 | Int($1) }
            hl = 2 + n
        }
        if let length { return Element(start: i, headerLength: hl, length: length, end: i + hl + length) }
        var j = i + 2
        while !(b[j] == 0 && b[j + 1] == 0) { j = element(b, at: j).end }
        return Element(start: i, headerLength: 2, length: nil, end: j + 2)
    }

    /// The children of the constructed element at `i`.
    static func children(_ b: [UInt8], of e: Element) -> [Element] {
        var out: [Element] = []
        var j = e.contentStart
        let stop = e.length.map { e.contentStart + $0 } ?? e.end - 2
        while j < stop {
            let c = element(b, at: j)
            out.append(c)
            j = c.end
        }
        return out
    }

    /// Follows child indices from the top-level element: `[1, 0, 1]` is the AuthEnvelopedData's
    /// recipientInfos, `[1, 0, 2, 1]` its content encryption algorithm, `[1, 0, 3]` its mac.
    static func locate(_ b: [UInt8], _ path: [Int]) -> Element {
        var e = element(b, at: 0)
        for k in path { e = children(b, of: e)[k] }
        return e
    }

    static func replacing(_ b: [UInt8], _ range: Range<Int>, with new: [UInt8]) -> [UInt8] {
        Array(b[..<range.lowerBound]) + new + Array(b[range.upperBound...])
    }

    /// DER: tag, minimal length, content.
    static func der(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        let n = content.count
        if n < 0x80 { return [tag, UInt8(n)] + content }
        var be: [UInt8] = []
        var v = n
        while v > 0 { be.insert(UInt8(v & 0xFF), at: 0); v >>= 8 }
        return [tag, 0x80 | UInt8(be.count)] + be + content
    }

    /// BER constructed, indefinite length.
    static func ber(_ tag: UInt8, _ parts: [[UInt8]]) -> [UInt8] { [tag, 0x80] + parts.flatMap { $0 } + [0, 0] }

    /// The content octets of a (possibly constructed) OCTET STRING element.
    static func octets(_ b: [UInt8], _ e: Element) -> [UInt8] {
        if b[e.start] & 0x20 == 0 { return Array(b[e.contentStart..<e.end]) }
        return children(b, of: e).flatMap { octets(b, $0) }
    }

    static func read(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    @discardableResult
    static func write(_ bytes: [UInt8], to path: String) throws -> String {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static let aes256GCM: [UInt8] = [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2E]
}
