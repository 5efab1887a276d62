import ClaimGateCore
import NIOCore

/// The syntax of a multipart body (RFC 2046 §5.1.1) as a state machine fed in pieces of any size:
/// the preamble, each part's header block and content, the close delimiter, the epilogue.
///
/// It holds only what it cannot decide yet: the bytes that may be the start of a delimiter (at
/// most the delimiter, its transport padding and CRLF) or an unfinished header block (at most
/// `maxHeaderBytes`), so its memory is the size of one piece plus that, whatever the parts' size.
///
/// A delimiter is `CRLF "--" boundary` followed by `"--"` (the close delimiter) or by optional
/// spaces and tabs and CRLF. The same bytes followed by anything else are content (the sender's
/// boundary should never occur in content; when it does without a valid ending, the content is
/// kept whole, as Go's `mime/multipart` does). The first delimiter may open the body without a
/// CRLF before it.
struct MultipartParser {
    enum State: Equatable {
        /// Before the first delimiter: discarded.
        case preamble
        /// After a delimiter line: a header block ending in an empty line.
        case headers
        /// A part's content, up to the next delimiter.
        case body
        /// After the close delimiter: discarded.
        case epilogue
    }

    enum Event {
        /// A part starts; its header fields (names lowercased), in order.
        case partBegin([(name: String, value: String)])
        /// Some of the part's content (a view of the input, not a copy).
        case data(ByteBuffer)
        /// The part's content is complete.
        case partEnd
    }

    private(set) var state: State = .preamble
    private var pending: ByteBuffer
    private let delimiter: [UInt8]
    private let maxHeaderBytes: Int
    /// The most spaces and tabs accepted between a delimiter and its CRLF.
    static let maxPadding = 64

    /// - Parameters:
    ///   - boundary: the `boundary` parameter of the body's `Content-Type` (already checked).
    ///   - maxHeaderBytes: the longest header block a part may have.
    init(boundary: String, maxHeaderBytes: Int) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        self.maxHeaderBytes = maxHeaderBytes
        // A virtual CRLF: the body may start with the first delimiter's "--boundary".
        pending = ByteBuffer(bytes: [UInt8(ascii: "\r"), UInt8(ascii: "\n")])
    }

    /// The bytes held back, undecided (for tests of the memory bound).
    var pendingBytes: Int { pending.readableBytes }

    /// Adds the next piece of the body. Call `next()` until it answers nil before adding more.
    mutating func append(_ piece: ByteBuffer) {
        guard state != .epilogue else { return }
        if pending.readerIndex > 0 { pending.discardReadBytes() }
        var piece = piece
        pending.writeBuffer(&piece)
    }

    /// The next event the bytes so far decide, or nil when more input is needed.
    /// - Throws: `invalid-argument` for a body that is not valid multipart.
    mutating func next() throws -> Event? {
        while true {
            switch state {
            case .epilogue:
                pending.moveReaderIndex(to: pending.writerIndex)
                return nil

            case .preamble, .body:
                let found = try scan()
                let keep: Int
                switch found {
                case .content:
                    keep = pending.readableBytes
                case .partial(let at):
                    keep = at
                case .delimiter(let at, let end, let close):
                    if at == 0 {
                        pending.moveReaderIndex(forwardBy: end)
                        let wasBody = state == .body
                        state = close ? .epilogue : .headers
                        if wasBody { return .partEnd }
                        continue
                    }
                    keep = at
                }
                if keep == 0 { return nil }
                if state == .body { return .data(pending.readSlice(length: keep)!) }
                pending.moveReaderIndex(forwardBy: keep)   // the preamble
                if case .delimiter = found { continue }
                return nil

            case .headers:
                guard let (fields, length) = try headerBlock() else {
                    guard pending.readableBytes <= maxHeaderBytes + 4 else { throw Self.headersTooLong(maxHeaderBytes) }
                    return nil
                }
                pending.moveReaderIndex(forwardBy: length)
                state = .body
                return .partBegin(fields)
            }
        }
    }

    /// Checks that the body ended after its close delimiter.
    /// - Throws: `invalid-argument` when the body was cut short.
    func finish() throws {
        guard state == .epilogue else {
            throw ClaimGateError(.invalidArgument,
                                 "The form ended before its closing boundary: the upload was cut short; send it again.",
                                 diagnostics: "multipart body ended in state \(state)")
        }
    }

    // MARK: Delimiters

    enum Scan: Equatable {
        /// No delimiter can start in the pending bytes: all of them are content.
        case content
        /// A delimiter may start at this offset; more input decides.
        case partial(at: Int)
        /// A delimiter at this offset, ending (after its CRLF or its "--") at `end`.
        case delimiter(at: Int, end: Int, close: Bool)
    }

    private func scan() throws -> Scan {
        let d = delimiter
        return try pending.withUnsafeReadableBytes { b -> Scan in
            let n = b.count
            var i = 0
            while i < n {
                guard b[i] == 13 else { i += 1; continue }
                let available = n - i
                if available < d.count {
                    if (0..<available).allSatisfy({ b[i + $0] == d[$0] }) { return .partial(at: i) }
                    i += 1; continue
                }
                guard (0..<d.count).allSatisfy({ b[i + $0] == d[$0] }) else { i += 1; continue }
                // The delimiter's bytes: what follows says whether it is one.
                let j = i + d.count
                if j < n, b[j] == UInt8(ascii: "-") {
                    if j + 1 == n { return .partial(at: i) }
                    if b[j + 1] == UInt8(ascii: "-") { return .delimiter(at: i, end: j + 2, close: true) }
                    i += 1; continue
                }
                var k = j
                while k < n, b[k] == UInt8(ascii: " ") || b[k] == UInt8(ascii: "\t") { k += 1 }
                guard k - j <= Self.maxPadding else {
                    throw ClaimGateError(.invalidArgument, "The form is not valid multipart: a boundary line has more than \(Self.maxPadding) spaces after it.")
                }
                if k == n || (k + 1 == n && b[k] == 13) { return .partial(at: i) }
                if b[k] == 13, b[k + 1] == 10 { return .delimiter(at: i, end: k + 2, close: false) }
                i += 1
            }
            return .content
        }
    }

    // MARK: Headers

    /// The header block at the start of the pending bytes, and its length with the empty line
    /// that ends it; nil when it is not complete yet.
    private func headerBlock() throws -> ([(name: String, value: String)], Int)? {
        let limit = maxHeaderBytes
        return try pending.withUnsafeReadableBytes { b -> ([(name: String, value: String)], Int)? in
            let n = b.count
            if n >= 2, b[0] == 13, b[1] == 10 { return ([], 2) }   // no header fields
            var i = 0
            while i + 3 < n {
                if b[i] == 13, b[i + 1] == 10, b[i + 2] == 13, b[i + 3] == 10 {
                    guard i <= limit else { throw Self.headersTooLong(limit) }
                    return (try Self.fields(UnsafeRawBufferPointer(rebasing: b[0..<i])), i + 4)
                }
                i += 1
            }
            return nil
        }
    }

    /// Header fields (RFC 5322 syntax, RFC 7578 §4.8) from a block without its final empty line.
    /// Obsolete line folding is unfolded; names are lowercased; values trimmed.
    static func fields(_ block: UnsafeRawBufferPointer) throws -> [(name: String, value: String)] {
        guard let text = String(validating: block, as: UTF8.self) else {
            throw ClaimGateError(.invalidArgument, "The form is not valid: a part's headers are not UTF-8.")
        }
        var fields: [(name: String, value: String)] = []
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: false) {
            guard !line.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }) else {
                throw ClaimGateError(.invalidArgument, "The form is not valid: a part's headers hold a control character.")
            }
            if let first = line.first, first == " " || first == "\t" {
                guard !fields.isEmpty else {
                    throw ClaimGateError(.invalidArgument, "The form is not valid: a part's headers start with a continuation line.")
                }
                fields[fields.count - 1].value += " " + line.trimmedOWS
                continue
            }
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex,
                  !line[..<colon].contains(where: { $0 == " " || $0 == "\t" }) else {
                throw ClaimGateError(.invalidArgument, "The form is not valid: a part's header line is not 'Name: value'.")
            }
            fields.append((String(line[..<colon]).lowercased(), line[line.index(after: colon)...].trimmedOWS))
        }
        return fields
    }

    private static func headersTooLong(_ limit: Int) -> ClaimGateError {
        ClaimGateError(.invalidArgument, "The form is not valid: a part's headers are longer than \(limit) bytes.")
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (OWS).
    var trimmedOWS: String {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
