/// The header of one BER element: its tag and its length (nil for an indefinite length).
struct BERHeader {
    let tag: UInt8
    let length: Int64?
    /// Stream offset of the tag byte.
    let offset: Int64
    let headerLength: Int
    /// Whether the length is in DER's minimal definite form.
    let isDERLength: Bool

    var isConstructed: Bool { tag & 0x20 != 0 }
    var contentOffset: Int64 { offset + Int64(headerLength) }

    /// The header's own bytes when it is in DER form (the only case they are asked for).
    var derBytes: [UInt8] {
        guard let length else { return [tag, 0x80] }
        if length < 0x80 { return [tag, UInt8(length)] }
        var be: [UInt8] = []
        var v = length
        while v > 0 { be.insert(UInt8(v & 0xFF), at: 0); v >>= 8 }
        return [tag, 0x80 | UInt8(be.count)] + be
    }
}

/// A pull reader for one BER stream (definite and indefinite lengths, constructed strings),
/// holding only a fixed buffer whatever the stream's size.
///
/// The caller walks the structure it expects: `readHeader`/`next` for headers, `enter` to open a
/// constructed element, `readContent`/`readElement` for small values (with a cap), `chunk` for
/// large primitive contents. Every element must stay inside its enclosing definite-length
/// containers, indefinite ones end with an end-of-contents marker, nesting is capped, and
/// running out of bytes anywhere is an error.
final class BERStreamReader {
    let layer: StreamLayer
    private let source: any ByteSource
    private let storage: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    /// Stream offset of the next unread byte.
    private(set) var offset: Int64 = 0
    private var exhausted = false
    private let maxDepth: Int

    private enum Frame { case definite(end: Int64), indefinite }
    private var frames: [Frame] = []
    /// The end of the innermost definite-length container, per open frame.
    private var limits: [Int64] = []
    private var limit: Int64 = .max

    /// - Parameters:
    ///   - source: where the bytes come from.
    ///   - bufferSize: the buffer (at least 64 bytes are kept so any header fits).
    ///   - maxDepth: how many containers may be open at once.
    ///   - layer: which encoding this is, for error messages.
    init(source: any ByteSource, bufferSize: Int, maxDepth: Int, layer: StreamLayer) {
        self.source = source
        self.storage = .allocate(byteCount: max(64, bufferSize), alignment: 64)
        self.maxDepth = maxDepth
        self.layer = layer
    }

    deinit {
        if wipe { UnsafeMutableRawBufferPointer(rebasing: storage[0..<highWater]).initializeMemory(as: UInt8.self, repeating: 0) }
        storage.deallocate()
    }

    /// Whether the buffer is wiped when the reader goes away (it holds decrypted bytes).
    var wipe = false
    private var highWater = 0

    /// How many containers are open.
    var depth: Int { frames.count }

    private var available: Int { end - start }

    /// Makes at least `n` bytes (n ≤ 64) available; false when the stream ends first.
    private func ensure(_ n: Int) throws -> Bool {
        if available >= n { return true }
        if start > 0 {
            if available > 0 { storage.baseAddress!.copyMemory(from: storage.baseAddress! + start, byteCount: available) }
            end -= start
            start = 0
        }
        while available < n && !exhausted {
            let got = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: storage[end...]))
            if got == 0 { exhausted = true } else { end += got }
        }
        highWater = max(highWater, end)
        return available >= n
    }

    private func byte(_ k: Int) -> UInt8 { storage[start + k] }

    private func consume(_ n: Int) {
        start += n
        offset += Int64(n)
    }

    func malformed(_ detail: String, at: Int64? = nil) -> EnvelopeError {
        EnvelopeError.malformed(detail, layer: layer, at: at ?? offset)
    }

    func truncated(_ inside: String = "its structure") -> EnvelopeError {
        EnvelopeError.malformed("it ends before \(inside) is complete (truncated)", layer: layer, at: offset)
    }

    /// Reads the header of the element at the current position.
    func readHeader() throws -> BERHeader {
        let at = offset
        guard try ensure(2) else { throw truncated() }
        let tag = byte(0)
        guard tag != 0 else { throw malformed("an end-of-contents marker where an element was expected") }
        guard tag & 0x1F != 0x1F else { throw malformed("a high-number tag, which CMS never uses") }
        let first = byte(1)
        var headerLength = 2
        var length: Int64?
        var isDER = true
        if first < 0x80 {
            length = Int64(first)
        } else if first == 0x80 {
            guard tag & 0x20 != 0 else { throw malformed("an indefinite length on a primitive element") }
            isDER = false
        } else {
            let n = Int(first & 0x7F)
            guard n <= 8, first != 0xFF else { throw malformed("a length field of \(n) bytes") }
            guard try ensure(2 + n) else { throw truncated() }
            var v: UInt64 = 0
            for k in 0..<n { v = v << 8 | UInt64(byte(2 + k)) }
            guard v <= UInt64(Int64.max >> 2) else { throw malformed("a length of \(v) bytes") }
            length = Int64(v)
            headerLength = 2 + n
            isDER = byte(2) != 0 && v >= 0x80
        }
        let contentStart = at + Int64(headerLength)
        if let length {
            guard length <= limit - contentStart else {
                throw malformed("a length of \(length) bytes that overruns its container", at: at)
            }
        } else {
            guard limit - contentStart >= 2 else { throw malformed("an element that overruns its container", at: at) }
        }
        consume(headerLength)
        return BERHeader(tag: tag, length: length, offset: at, headerLength: headerLength, isDERLength: isDER)
    }

    /// Opens a constructed element whose header was just read; its children follow.
    func enter(_ h: BERHeader) throws {
        guard h.isConstructed else { throw malformed("expected a constructed element", at: h.offset) }
        guard frames.count < maxDepth else { throw malformed("nesting deeper than \(maxDepth) levels", at: h.offset) }
        if let length = h.length {
            let end = h.contentOffset + length
            frames.append(.definite(end: end))
            limit = min(limit, end)
        } else {
            frames.append(.indefinite)
        }
        limits.append(limit)
    }

    private func pop() {
        frames.removeLast()
        limits.removeLast()
        limit = limits.last ?? .max
    }

    /// The header of the next element in the innermost open container, or nil when that
    /// container ends here (it is then closed). With no container open, the next top-level element.
    func next() throws -> BERHeader? {
        guard let top = frames.last else { return try readHeader() }
        switch top {
        case .definite(let end):
            if offset == end { pop(); return nil }
            guard offset < end else { throw malformed("an element that overruns its container") }
            return try readHeader()
        case .indefinite:
            guard try ensure(2) else { throw truncated() }
            if byte(0) == 0 {
                guard byte(1) == 0 else { throw malformed("a malformed end-of-contents marker") }
                guard limit - offset >= 2 else { throw malformed("an end-of-contents marker that overruns its container") }
                consume(2)
                pop()
                return nil
            }
            return try readHeader()
        }
    }

    /// Requires the innermost open container to end here, and closes it.
    func expectEnd(of what: String) throws {
        if let h = try next() { throw malformed("an unexpected element (tag \(DERElement.hex(h.tag))) at the end of \(what)", at: h.offset) }
    }

    /// Up to `max` (> 0) bytes of content at the current position, straight from the buffer and
    /// valid until the next call. The caller stays within a content whose length it has checked.
    func chunk(max: Int) throws -> UnsafeRawBufferPointer {
        if available == 0 {
            start = 0
            end = 0
            if !exhausted {
                let got = try source.read(into: storage)
                if got == 0 { exhausted = true } else { end = got }
                highWater = Swift.max(highWater, end)
            }
            guard available > 0 else { throw truncated() }
        }
        let n = min(max, available)
        let out = UnsafeRawBufferPointer(start: storage.baseAddress! + start, count: n)
        consume(n)
        return out
    }

    /// The content of a definite-length element whose header was just read, at most `cap` bytes.
    func readContent(_ h: BERHeader, cap: Int, what: String) throws -> [UInt8] {
        guard let length = h.length else {
            throw malformed("\(what) has an indefinite length where DER is required", at: h.offset)
        }
        guard length <= Int64(cap) else {
            throw malformed("\(what) is \(length) bytes, over the \(cap)-byte cap", at: h.offset)
        }
        var out: [UInt8] = []
        out.reserveCapacity(Int(length))
        var rest = Int(length)
        while rest > 0 {
            let c = try chunk(max: rest)
            out.append(contentsOf: c)
            rest -= c.count
        }
        return out
    }

    /// The whole DER element (header and content) whose header was just read, at most `cap` bytes.
    func readElement(_ h: BERHeader, cap: Int, what: String) throws -> DERElement {
        guard h.isDERLength else { throw malformed("\(what) is not DER-encoded", at: h.offset) }
        let content = try readContent(h, cap: cap, what: what)
        let bytes = h.derBytes + content
        return try DERElement(parsing: bytes[...], layer: layer, base: h.offset)
    }

    /// Whether the stream has no byte left.
    func isAtEnd() throws -> Bool { try !ensure(1) }
}

/// Streams the content of an OCTET STRING, primitive or constructed (BER segments, definite or
/// indefinite, nested up to the reader's depth cap), piece by piece without holding it.
final class OctetStringCursor {
    private let reader: BERStreamReader
    private var remaining: Int64 = 0
    private var openSegments = 0
    private(set) var finished = false
    /// Bytes of content delivered so far.
    private(set) var delivered: Int64 = 0

    /// Starts at an OCTET STRING (or an implicitly tagged one) whose header was just read.
    init(reader: BERStreamReader, header h: BERHeader) throws {
        self.reader = reader
        if h.isConstructed {
            try reader.enter(h)
            openSegments = 1
        } else {
            remaining = h.length!
        }
    }

    /// The next piece of content (at most `max` bytes, valid until the next reader call), or nil
    /// once the whole string has been delivered.
    func next(max: Int) throws -> UnsafeRawBufferPointer? {
        while true {
            if remaining > 0 {
                let c = try reader.chunk(max: Int(min(remaining, Int64(max))))
                remaining -= Int64(c.count)
                delivered += Int64(c.count)
                return c
            }
            if openSegments == 0 {
                finished = true
                return nil
            }
            guard let h = try reader.next() else {
                openSegments -= 1
                continue
            }
            switch h.tag {
            case 0x04: remaining = h.length!
            case 0x24:
                try reader.enter(h)
                openSegments += 1
            default:
                throw reader.malformed("a segment of a constructed OCTET STRING with tag \(DERElement.hex(h.tag))", at: h.offset)
            }
        }
    }
}
