/// One archive member, as its header (and a pax extended header before it) announce it.
public struct TarMember: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case file
        case directory
    }
    /// The full path inside the archive (pax `path`, or the ustar prefix and name).
    public let name: String
    public let kind: Kind
    /// Data bytes that follow the header (always 0 for a directory).
    public let size: Int64
}

/// Receives what a `TarStreamReader` finds, in archive order.
protocol TarMemberHandler: AnyObject {
    /// A member starts; `data` follows with exactly `member.size` bytes, then `endMember`.
    func beginMember(_ member: TarMember) throws
    /// The next piece of the current member's data.
    func memberData(_ bytes: UnsafeRawBufferPointer) throws
    /// The current member's data is complete.
    func endMember() throws
}

/// A strict, incremental reader for the tar profile bundles use: POSIX ustar headers, pax
/// extended headers (`x`) before a member, regular files and directories, and the two zero
/// blocks that end the archive. Bytes are pushed in pieces of any size (`consume`), and the
/// reader keeps only one header and one pax header (capped) in memory.
///
/// Anything outside the profile is refused with a `PackagingError` that says what was found:
/// links, devices, FIFOs, GNU long-name and sparse members, global pax headers, pax records other
/// than path/size/times/owner, bad checksums, non-octal numbers, non-UTF-8 names, non-zero
/// padding, truncation, and data after the end-of-archive blocks. See docs/streaming-opener.md.
final class TarStreamReader {
    static let blockSize = 512

    /// The largest pax extended header accepted (a 200-byte document name needs about 250 bytes).
    let maxPaxHeaderSize: Int

    private enum State {
        /// Collecting a 512-byte header into `block` (`blockFill` bytes so far).
        case header
        /// Collecting a pax extended header's records into `pax`.
        case paxRecords(remaining: Int)
        /// The current member's data.
        case data(remaining: Int64)
        /// The zero bytes that pad the last member or pax header to a whole block.
        case padding(remaining: Int)
        /// After the first zero block: the second must follow.
        case endMarker(remaining: Int)
        /// After the end-of-archive blocks: only zero bytes (record padding) may follow.
        case trailer
        /// An error was thrown; nothing more is read.
        case failed
    }

    private var state = State.header
    private var block = [UInt8](repeating: 0, count: blockSize)
    private var blockFill = 0
    private var pax: [UInt8] = []
    /// Overrides from the pax extended header that applies to the next member.
    private var pending: PaxOverrides?
    private var memberName = ""
    /// Archive bytes consumed so far (for error messages).
    private(set) var offset: Int64 = 0

    /// - Parameter maxPaxHeaderSize: cap on one pax extended header. Default 64 KiB.
    init(maxPaxHeaderSize: Int = 64 << 10) {
        self.maxPaxHeaderSize = maxPaxHeaderSize
    }

    /// Reads the next bytes of the archive, calling `handler` for each member and its data.
    /// - Throws: `PackagingError` (`.archive` for anything outside the profile or damaged; what
    ///   `handler` throws, unchanged). After an error the reader refuses further input.
    func consume(_ bytes: UnsafeRawBufferPointer, _ handler: TarMemberHandler) throws {
        do {
            try consumeUnchecked(bytes, handler)
        } catch {
            state = .failed
            throw error
        }
    }

    /// The archive ended: checks that it ended where it may (after its end-of-archive blocks, on a
    /// block boundary).
    func finish() throws {
        switch state {
        case .trailer:
            guard offset % Int64(Self.blockSize) == 0 else {
                throw damaged("it ends \(offset % Int64(Self.blockSize)) bytes into a block", at: offset)
            }
        case .header where blockFill == 0 && pending == nil:
            throw damaged("it ends without the zero blocks that close a tar archive (truncated)", at: offset)
        case .data, .padding:
            throw damaged("it ends inside '\(memberName.prefix(80))' (truncated)", at: offset)
        case .failed:
            throw PackagingError(.archive, "The bundle's tar archive was already refused.")
        case .endMarker:
            throw damaged("it ends after a single zero block (a tar archive ends with two; truncated)", at: offset)
        default:
            throw damaged("it ends inside a header (truncated)", at: offset)
        }
    }

    // MARK: - Reading

    private func consumeUnchecked(_ bytes: UnsafeRawBufferPointer, _ handler: TarMemberHandler) throws {
        var rest = bytes
        while !rest.isEmpty {
            switch state {
            case .failed:
                throw PackagingError(.archive, "The bundle's tar archive was already refused.")

            case .header:
                if blockFill == 0, rest.count >= Self.blockSize {
                    // The common case: the whole header is in this piece.
                    let header = UnsafeRawBufferPointer(rebasing: rest[0..<Self.blockSize])
                    rest = UnsafeRawBufferPointer(rebasing: rest[Self.blockSize...])
                    offset += Int64(Self.blockSize)
                    try readHeader(header, handler)
                } else {
                    let n = min(Self.blockSize - blockFill, rest.count)
                    block.withUnsafeMutableBytes { b in
                        (b.baseAddress! + blockFill).copyMemory(from: rest.baseAddress!, byteCount: n)
                    }
                    blockFill += n
                    rest = UnsafeRawBufferPointer(rebasing: rest[n...])
                    offset += Int64(n)
                    if blockFill == Self.blockSize {
                        blockFill = 0
                        try block.withUnsafeBytes { try readHeader($0, handler) }
                    }
                }

            case .paxRecords(let remaining):
                let n = min(remaining, rest.count)
                pax.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[0..<n]))
                rest = UnsafeRawBufferPointer(rebasing: rest[n...])
                offset += Int64(n)
                if n == remaining {
                    pending = try PaxOverrides(records: pax, at: offset - Int64(pax.count))
                    pax = []
                    let pad = Self.padding(after: Int64(paxSize))
                    state = pad == 0 ? .header : .padding(remaining: pad)
                } else {
                    state = .paxRecords(remaining: remaining - n)
                }

            case .data(let remaining):
                let n = Int(min(remaining, Int64(rest.count)))
                let piece = UnsafeRawBufferPointer(rebasing: rest[0..<n])
                rest = UnsafeRawBufferPointer(rebasing: rest[n...])
                offset += Int64(n)
                if Int64(n) == remaining {
                    let pad = Self.padding(after: memberSize)
                    state = pad == 0 ? .header : .padding(remaining: pad)
                    try handler.memberData(piece)
                    try handler.endMember()
                } else {
                    state = .data(remaining: remaining - Int64(n))
                    try handler.memberData(piece)
                }

            case .padding(let remaining):
                let n = min(remaining, rest.count)
                guard Self.allZero(UnsafeRawBufferPointer(rebasing: rest[0..<n])) else {
                    throw damaged("the padding after '\(memberName.prefix(80))' is not zero", at: offset)
                }
                rest = UnsafeRawBufferPointer(rebasing: rest[n...])
                offset += Int64(n)
                state = n == remaining ? .header : .padding(remaining: remaining - n)

            case .endMarker(let remaining):
                let n = min(remaining, rest.count)
                guard Self.allZero(UnsafeRawBufferPointer(rebasing: rest[0..<n])) else {
                    throw damaged("a single zero block is followed by data (a tar archive ends with two zero blocks)", at: offset)
                }
                rest = UnsafeRawBufferPointer(rebasing: rest[n...])
                offset += Int64(n)
                state = n == remaining ? .trailer : .endMarker(remaining: remaining - n)

            case .trailer:
                guard Self.allZero(rest) else {
                    throw damaged("data follows the end-of-archive blocks", at: offset)
                }
                offset += Int64(rest.count)
                rest = UnsafeRawBufferPointer(rebasing: rest[rest.count...])
            }
        }
    }

    private var memberSize: Int64 = 0
    private var paxSize = 0

    /// Interprets one 512-byte header.
    private func readHeader(_ h: UnsafeRawBufferPointer, _ handler: TarMemberHandler) throws {
        let at = offset - Int64(Self.blockSize)
        if Self.allZero(h) {
            guard pending == nil else { throw damaged("a pax extended header is followed by the end of the archive", at: at) }
            state = .endMarker(remaining: Self.blockSize)
            return
        }
        let header = try UstarHeader(h, at: at)
        let type = header.typeFlag
        if let kind = Self.specialKinds[type] {
            // Named as BundleArchiveLayout names what it refuses.
            let name = String(decoding: (pending?.path ?? header.rawName).prefix(80), as: UTF8.self)
            throw PackagingError(.layout, "The bundle archive holds '\(name)', which is \(kind), not a regular file: links and special files are refused.")
        }
        guard header.linkName.isEmpty else {
            throw refused("a regular file or directory with a link target", at: at)
        }
        switch type {
        case UInt8(ascii: "x"):
            guard pending == nil else { throw damaged("two pax extended headers in a row", at: at) }
            guard header.size <= Int64(maxPaxHeaderSize) else {
                throw refused("a pax extended header of \(header.size) bytes, over the \(maxPaxHeaderSize)-byte cap", at: at)
            }
            paxSize = Int(header.size)
            memberName = "a pax extended header"
            pax.reserveCapacity(paxSize)
            if paxSize == 0 {
                pending = try PaxOverrides(records: [], at: at)
                state = .header
            } else {
                state = .paxRecords(remaining: paxSize)
            }

        case UInt8(ascii: "0"), 0, UInt8(ascii: "5"):
            let overrides = pending ?? PaxOverrides()
            pending = nil
            let rawName = overrides.path ?? header.rawName
            guard let name = String(validating: rawName, as: UTF8.self), !name.isEmpty else {
                throw refused("a member whose name is empty or not UTF-8", at: at)
            }
            let size = overrides.size ?? header.size
            let kind: TarMember.Kind = type == UInt8(ascii: "5") ? .directory : .file
            memberName = name
            if kind == .directory, size != 0 {
                throw refused("a directory entry with data ('\(name.prefix(80))')", at: at)
            }
            memberSize = size
            state = size == 0 ? .header : .data(remaining: size)
            try handler.beginMember(TarMember(name: name, kind: kind, size: size))
            if size == 0 { try handler.endMember() }

        default:
            let name = String(decoding: header.rawName.prefix(80), as: UTF8.self)
            throw refused("\(Self.describe(type)) ('\(name)')", at: at)
        }
    }

    // MARK: - Helpers

    static func padding(after size: Int64) -> Int {
        let r = Int(size % Int64(blockSize))
        return r == 0 ? 0 : blockSize - r
    }

    static func allZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
        // Eight bytes at a time: the trailer of a big archive can be several KiB.
        var i = 0
        let n = bytes.count
        var acc: UInt64 = 0
        while i + 8 <= n {
            acc |= bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < n { acc |= UInt64(bytes[i]); i += 1 }
        return acc == 0
    }

    /// Member types that are files of another kind than regular.
    static let specialKinds: [UInt8: String] = [
        UInt8(ascii: "1"): "a hard link", UInt8(ascii: "2"): "a symbolic link",
        UInt8(ascii: "3"): "a character device", UInt8(ascii: "4"): "a block device",
        UInt8(ascii: "6"): "a FIFO", UInt8(ascii: "7"): "a contiguous file (type 7)",
    ]

    /// Other member types, which are tar extensions outside the profile.
    static func describe(_ type: UInt8) -> String {
        switch type {
        case UInt8(ascii: "g"): return "a global pax header"
        case UInt8(ascii: "L"), UInt8(ascii: "K"): return "a GNU long-name member (use --format=pax)"
        case UInt8(ascii: "S"): return "a GNU sparse file"
        default:
            let printable = (0x21...0x7E).contains(type) ? "'\(Character(Unicode.Scalar(type)))'" : "0x" + String(type, radix: 16)
            return "a member of type \(printable)"
        }
    }

    func damaged(_ detail: String, at offset: Int64) -> PackagingError {
        PackagingError(.archive, "The bundle's tar archive is damaged at byte \(offset): \(detail). Ask the sender to seal it again.")
    }

    func refused(_ what: String, at offset: Int64) -> PackagingError {
        Self.refused(what, at: offset)
    }

    static func refused(_ what: String, at offset: Int64) -> PackagingError {
        PackagingError(.archive, "The bundle's tar archive holds \(what) at byte \(offset), which ClaimGate refuses: only regular files and directories in POSIX ustar/pax format are accepted. Ask the sender to seal with `claimgate seal` or `tar --format=pax`.")
    }
}

/// The fields of a ustar header the profile uses, checked: checksum, magic, numbers.
struct UstarHeader {
    let rawName: [UInt8]
    let linkName: [UInt8]
    let size: Int64
    let typeFlag: UInt8

    init(_ h: UnsafeRawBufferPointer, at offset: Int64) throws {
        func fail(_ detail: String) -> PackagingError {
            PackagingError(.archive, "The bundle's tar archive is damaged at byte \(offset): \(detail). Ask the sender to seal it again.")
        }
        // Checksum: the unsigned sum of the header with its checksum field read as spaces.
        guard let stored = Self.octal(h, 148, 8) else { throw fail("the header checksum is not an octal number") }
        var sum: Int64 = 8 * 0x20
        for i in 0..<148 { sum += Int64(h[i]) }
        for i in 156..<512 { sum += Int64(h[i]) }
        guard sum == stored else { throw fail("the header checksum does not match (not a tar header, or altered)") }

        let posix = Self.equal(h, 257, Array("ustar\0".utf8)) && Self.equal(h, 263, Array("00".utf8))
        let gnu = Self.equal(h, 257, Array("ustar  \0".utf8))
        guard posix || gnu else {
            throw TarStreamReader.refused("a header that is not POSIX ustar (an old v7 or unknown tar format)", at: offset)
        }
        typeFlag = h[156]
        let name = Self.string(h, 0, 100)
        if posix {
            let prefix = Self.string(h, 345, 155)
            rawName = prefix.isEmpty ? name : prefix + [UInt8(ascii: "/")] + name
        } else {
            // GNU format keeps incremental-dump times and sparse maps where POSIX has the prefix.
            guard TarStreamReader.allZero(UnsafeRawBufferPointer(rebasing: h[345..<500])) else {
                throw TarStreamReader.refused("a GNU tar header with incremental or sparse data", at: offset)
            }
            rawName = name
        }
        linkName = Self.string(h, 157, 100)
        if h[124] & 0x80 != 0 {
            // Base-256 (GNU, for 8 GiB and more): positive values only.
            guard h[124] == 0x80 else { throw fail("a negative or oversized member size") }
            var v: Int64 = 0
            for i in 125..<136 {
                guard v <= (Int64.max >> 8) else { throw fail("an oversized member size") }
                v = v << 8 | Int64(h[i])
            }
            size = v
        } else {
            guard let v = Self.octal(h, 124, 12) else { throw fail("the member size is not an octal number") }
            size = v
        }
    }

    /// A NUL-terminated text field (the whole field when it has no NUL).
    static func string(_ h: UnsafeRawBufferPointer, _ start: Int, _ length: Int) -> [UInt8] {
        var out: [UInt8] = []
        for i in start..<(start + length) {
            if h[i] == 0 { break }
            out.append(h[i])
        }
        return out
    }

    static func equal(_ h: UnsafeRawBufferPointer, _ start: Int, _ expected: [UInt8]) -> Bool {
        for (i, b) in expected.enumerated() where h[start + i] != b { return false }
        return true
    }

    /// An octal number field: optional leading spaces, at least one octal digit, then only NULs
    /// and spaces. Nil for anything else.
    static func octal(_ h: UnsafeRawBufferPointer, _ start: Int, _ length: Int) -> Int64? {
        var i = start
        let end = start + length
        while i < end, h[i] == 0x20 { i += 1 }
        var value: Int64 = 0
        var digits = 0
        while i < end, h[i] >= 0x30, h[i] <= 0x37 {
            guard value <= (Int64.max >> 3) else { return nil }
            value = value << 3 | Int64(h[i] - 0x30)
            digits += 1
            i += 1
        }
        guard digits > 0 else { return nil }
        while i < end {
            guard h[i] == 0 || h[i] == 0x20 else { return nil }
            i += 1
        }
        return value
    }
}

/// The pax extended header records the profile accepts: `path` and `size` apply to the next
/// member; times and owner (`mtime`, `atime`, `ctime`, `uid`, `gid`, `uname`, `gname`) are
/// ignored, as they are in the ustar header. Any other record is refused.
struct PaxOverrides {
    var path: [UInt8]?
    var size: Int64?

    static let ignored: Set<String> = ["mtime", "atime", "ctime", "uid", "gid", "uname", "gname"]

    init() {}

    /// Parses `records` ("<length> <key>=<value>\n", the length counting the whole record).
    init(records: [UInt8], at offset: Int64) throws {
        func fail(_ detail: String) -> PackagingError {
            PackagingError(.archive, "The bundle's tar archive is damaged at byte \(offset): its pax extended header \(detail). Ask the sender to seal it again.")
        }
        var seen = Set<String>()
        var i = 0
        while i < records.count {
            // The decimal length, no leading zeros, then a space.
            var length = 0
            var j = i
            while j < records.count, records[j] >= 0x30, records[j] <= 0x39 {
                guard j - i < 7 else { throw fail("has a record length over the cap") }
                length = length * 10 + Int(records[j] - 0x30)
                j += 1
            }
            guard j > i, j < records.count, records[j] == 0x20, records[i] != 0x30 || j - i == 1 else {
                throw fail("has a record without a valid length")
            }
            guard length > j - i + 1, i + length <= records.count, records[i + length - 1] == 0x0A else {
                throw fail("has a record whose length does not match its end")
            }
            let body = records[(j + 1)..<(i + length - 1)]
            guard let eq = body.firstIndex(of: UInt8(ascii: "=")), eq > body.startIndex else {
                throw fail("has a record without a key")
            }
            guard let key = String(validating: body[body.startIndex..<eq], as: UTF8.self) else {
                throw fail("has a key that is not UTF-8")
            }
            let value = Array(body[(eq + 1)...])
            guard seen.insert(key).inserted else { throw fail("sets '\(key.prefix(40))' twice") }
            switch key {
            case "path":
                guard !value.isEmpty, !value.contains(0) else { throw fail("has an empty path or a path with a NUL byte") }
                path = value
            case "size":
                guard !value.isEmpty, value.count <= 18, value.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                    throw fail("has a size that is not a decimal number")
                }
                size = value.reduce(Int64(0)) { $0 * 10 + Int64($1 - 0x30) }
            case _ where Self.ignored.contains(key):
                break
            default:
                throw TarStreamReader.refused("a pax record '\(key.prefix(60))'", at: offset)
            }
            i += length
        }
    }
}
