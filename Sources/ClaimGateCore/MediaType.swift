/// Media types recognised from a document's first bytes. The file name is never trusted.
public enum MediaTypeSniffer {
    /// Every media type `sniff` can return.
    public static let recognisedTypes: [String] = [
        "application/pdf", "image/jpeg", "image/png", "image/gif", "image/tiff", "image/webp", "image/heic",
        "video/mp4", "video/quicktime", "application/zip", "text/plain", "application/octet-stream",
    ]

    /// How many leading bytes `sniff` needs to decide.
    public static let prefixLength = 512

    /// Returns the media type the content starts like, or `application/octet-stream`.
    public static func sniff<Bytes: Collection>(_ prefix: Bytes) -> String where Bytes.Element == UInt8 {
        let b = Array(prefix.prefix(prefixLength))
        func starts(_ sig: [UInt8], at offset: Int = 0) -> Bool {
            b.count >= offset + sig.count && Array(b[offset..<offset + sig.count]) == sig
        }
        if starts(Array("%PDF-".utf8)) { return "application/pdf" }
        if starts([0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
        if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) { return "image/gif" }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return "image/tiff" }
        if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { return "image/webp" }
        if starts(Array("ftyp".utf8), at: 4), b.count >= 12 {
            let brand = String(decoding: b[8..<12], as: UTF8.self)
            switch brand {
            case "heic", "heix", "mif1", "heim", "heis": return "image/heic"
            case "qt  ": return "video/quicktime"
            default: return "video/mp4"
            }
        }
        if starts([0x50, 0x4B, 0x03, 0x04]) { return "application/zip" }
        if !b.isEmpty, isPlainText(b) { return "text/plain" }
        return "application/octet-stream"
    }

    /// UTF-8 without NUL or control characters other than tab, CR, LF and form feed.
    /// A multi-byte sequence cut at the end of the prefix is accepted.
    private static func isPlainText(_ b: [UInt8]) -> Bool {
        if b.contains(where: { $0 < 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D && $0 != 0x0C }) || b.contains(0x7F) {
            return false
        }
        var end = b.count
        // Drop up to 3 trailing bytes of an incomplete sequence.
        var back = 0
        while back < 3, end > 0, b[end - 1] & 0xC0 == 0x80 { end -= 1; back += 1 }
        if end > 0, b[end - 1] >= 0xC0 { end -= 1 }
        var it = b[0..<end].makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&it) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }
}
