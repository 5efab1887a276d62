import Foundation

/// The header blocks of one regular file in a POSIX tar archive (pax interchange format, which
/// every `tar` since POSIX.1-2001 reads): a ustar header, preceded by a pax extended header
/// carrying the `path` when the name is not plain ASCII or longer than ustar's 100 bytes.
/// Only headers are built here; the file's bytes are streamed after them by the caller, then
/// `padding(for:)` zero bytes, and `end` closes the archive.
struct TarEntryHeader: Sendable {
    static let block = 512
    /// Two zero blocks: the end of an archive.
    static let end = 2 * block

    let path: String
    let size: Int64
    let modified: Date

    /// The header blocks (512-byte multiples).
    var bytes: [UInt8] {
        var out: [UInt8] = []
        let utf8 = Array(path.utf8)
        let plain = utf8.count <= 100 && utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7f }
        if !plain {
            let record = Self.paxRecord("path", path)
            out += Self.ustar(name: "PaxHeader/entry", size: Int64(record.count), type: UInt8(ascii: "x"), modified: modified)
            out += record + [UInt8](repeating: 0, count: Self.padding(for: Int64(record.count)))
        }
        // The ustar name: the path itself, or an ASCII stand-in when the pax header carries it.
        let fallback = plain ? utf8 : Array(String(path.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7f ? Character($0) : "_" }).utf8.suffix(100))
        out += Self.ustar(name: String(decoding: fallback, as: UTF8.self), size: size, type: UInt8(ascii: "0"), modified: modified)
        return out
    }

    /// How many bytes the entry takes in the archive: headers, content, padding.
    var archivedLength: Int64 { Int64(bytes.count) + size + Int64(Self.padding(for: size)) }

    /// Zero bytes after `size` bytes of content, to the next block.
    static func padding(for size: Int64) -> Int { Int((Int64(block) - size % Int64(block)) % Int64(block)) }

    /// `"%d path=value\n"`, the length counting itself.
    static func paxRecord(_ key: String, _ value: String) -> [UInt8] {
        let body = " \(key)=\(value)\n"
        var length = body.utf8.count + 1
        while String(length).utf8.count + body.utf8.count > length { length += 1 }
        return Array((String(length) + body).utf8)
    }

    /// One ustar header block: mode 0600, owner 0, the checksum computed over the block.
    static func ustar(name: String, size: Int64, type: UInt8, modified: Date) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: block)
        func put(_ offset: Int, _ length: Int, _ value: [UInt8]) {
            for (i, b) in value.prefix(length).enumerated() { h[offset + i] = b }
        }
        func octal(_ offset: Int, _ length: Int, _ value: Int64) {
            let digits = String(value, radix: 8)
            put(offset, length, Array((String(repeating: "0", count: max(0, length - 1 - digits.count)) + digits).utf8))
        }
        put(0, 100, Array(name.utf8))
        octal(100, 8, 0o600)
        octal(108, 8, 0)
        octal(116, 8, 0)
        octal(124, 12, size)
        octal(136, 12, Int64(max(0, modified.timeIntervalSince1970)))
        put(148, 8, Array("        ".utf8))
        h[156] = type
        put(257, 6, Array("ustar\0".utf8))
        put(263, 2, Array("00".utf8))
        let sum = h.reduce(0) { $0 + Int64($1) }
        let digits = String(sum, radix: 8)
        put(148, 8, Array((String(repeating: "0", count: max(0, 6 - digits.count)) + digits).utf8) + [0, 0x20])
        return h
    }
}
