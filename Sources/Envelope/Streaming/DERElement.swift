/// One DER element held in memory: the small structures of a bundle (recipient infos, algorithm
/// identifiers, certificates, signer infos), captured with a size cap by `BERStreamReader`.
///
/// Strict DER only: definite, minimal lengths and low-tag-number tags (all CMS needs). Offsets in
/// errors are positions in the stream the bytes came from.
struct DERElement {
    let tag: UInt8
    /// Header and content.
    let encoded: ArraySlice<UInt8>
    let content: ArraySlice<UInt8>
    let layer: StreamLayer
    /// Stream offset of index 0 of the array the slices point into.
    let base: Int64

    var isConstructed: Bool { tag & 0x20 != 0 }
    var offset: Int64 { base + Int64(encoded.startIndex) }

    /// Parses `bytes`, which must hold exactly one element.
    init(parsing bytes: ArraySlice<UInt8>, layer: StreamLayer, base: Int64) throws {
        let (element, end) = try DERElement.next(in: bytes, from: bytes.startIndex, layer: layer, base: base)
        guard end == bytes.endIndex else {
            throw EnvelopeError.malformed("unexpected bytes after an element", layer: layer, at: base + Int64(end))
        }
        self = element
    }

    private init(tag: UInt8, encoded: ArraySlice<UInt8>, content: ArraySlice<UInt8>, layer: StreamLayer, base: Int64) {
        self.tag = tag; self.encoded = encoded; self.content = content; self.layer = layer; self.base = base
    }

    /// Reads the element starting at `i` inside `bytes`; returns it and the index after it.
    static func next(in bytes: ArraySlice<UInt8>, from i: Int, layer: StreamLayer, base: Int64) throws -> (DERElement, Int) {
        func fail(_ detail: String, _ at: Int) -> EnvelopeError {
            EnvelopeError.malformed(detail, layer: layer, at: base + Int64(at))
        }
        guard bytes.endIndex - i >= 2 else { throw fail("an element is cut short", i) }
        let tag = bytes[i]
        guard tag & 0x1F != 0x1F else { throw fail("a high-number tag, which CMS never uses", i) }
        let first = bytes[i + 1]
        var p = i + 2
        var length = 0
        if first < 0x80 {
            length = Int(first)
        } else if first == 0x80 {
            throw fail("an indefinite length where DER is required", i)
        } else {
            let n = Int(first & 0x7F)
            guard n <= 4 else { throw fail("a length field of \(n) bytes", i) }
            guard bytes.endIndex - p >= n else { throw fail("an element is cut short", i) }
            guard bytes[p] != 0 else { throw fail("a non-minimal length", i) }
            for k in 0..<n { length = length << 8 | Int(bytes[p + k]) }
            guard length >= 0x80 else { throw fail("a non-minimal length", i) }
            p += n
        }
        guard length <= bytes.endIndex - p else { throw fail("a length of \(length) bytes that overruns its container", i) }
        let end = p + length
        return (DERElement(tag: tag, encoded: bytes[i..<end], content: bytes[p..<end], layer: layer, base: base), end)
    }

    /// The elements inside a constructed element, in order.
    func children() throws -> [DERElement] {
        guard isConstructed else { throw error("expected a constructed element") }
        var out: [DERElement] = []
        var i = content.startIndex
        while i < content.endIndex {
            let (child, end) = try DERElement.next(in: content, from: i, layer: layer, base: base)
            out.append(child)
            i = end
        }
        return out
    }

    /// Throws unless the tag is `tag`; `what` names the expected field for the message.
    @discardableResult
    func expect(_ tag: UInt8, _ what: String) throws -> DERElement {
        guard self.tag == tag else {
            throw error("expected \(what) (tag \(Self.hex(tag))), found tag \(Self.hex(self.tag))")
        }
        return self
    }

    /// The OID of an OBJECT IDENTIFIER element.
    func oid(_ what: String) throws -> OID {
        try expect(0x06, what)
        guard !content.isEmpty, content.count <= 64, content.last! & 0x80 == 0 else { throw error("a malformed \(what)") }
        return OID(bytes: content)
    }

    /// A small non-negative INTEGER (versions, lengths, salt sizes), minimally encoded.
    func smallInteger(_ what: String) throws -> Int {
        try expect(0x02, what)
        guard !content.isEmpty, content.count <= 4 else { throw error("a malformed or oversized \(what)") }
        if content.count > 1 {
            let a = content[content.startIndex], b = content[content.startIndex + 1]
            guard !(a == 0 && b & 0x80 == 0) else { throw error("a non-minimal \(what)") }
        }
        guard content[content.startIndex] & 0x80 == 0 else { throw error("a negative \(what)") }
        return content.reduce(0) { $0 << 8 | Int($1) }
    }

    /// A structural error located at this element.
    func error(_ detail: String) -> EnvelopeError {
        EnvelopeError.malformed(detail, layer: layer, at: offset)
    }

    static func hex(_ b: UInt8) -> String {
        let d = Array("0123456789ABCDEF")
        return "0x" + String(d[Int(b >> 4)]) + String(d[Int(b & 0xF)])
    }
}

/// An AlgorithmIdentifier: its OID and, when present, its parameters element.
struct AlgorithmIdentifier {
    let oid: OID
    let parameters: DERElement?
    let element: DERElement

    init(_ e: DERElement, _ what: String) throws {
        let parts = try e.expect(0x30, what).children()
        guard (1...2).contains(parts.count) else { throw e.error("a malformed \(what)") }
        oid = try parts[0].oid(what)
        parameters = parts.count == 2 ? parts[1] : nil
        element = e
    }

    /// Parameters absent or NULL: how hash functions and ECDSA/PKCS#1 signatures are written.
    var hasNoParameters: Bool {
        guard let p = parameters else { return true }
        return p.tag == 0x05 && p.content.isEmpty
    }

    /// Whether this names SHA-256 with absent or NULL parameters.
    var isSHA256: Bool { oid == .sha256 && hasNoParameters }
}

enum DER {
    /// The DER encoding of one element: `tag`, minimal length, `content`.
    static func encode(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        let n = content.count
        var out: [UInt8] = [tag]
        if n < 0x80 {
            out.append(UInt8(n))
        } else {
            var be: [UInt8] = []
            var v = n
            while v > 0 { be.insert(UInt8(v & 0xFF), at: 0); v >>= 8 }
            out.append(0x80 | UInt8(be.count))
            out += be
        }
        return out + content
    }
}
