import Foundation

/// Builds tar archives header by header, for tests that need exact (and exactly wrong) archives.
struct TarCraft {
    enum Magic { case posix, gnu, none }

    var bytes: [UInt8] = []

    /// Appends one 512-byte header.
    /// - Parameters:
    ///   - sizeField: raw bytes for the size field in place of the octal `size`.
    ///   - checksumDelta: added to the correct checksum (non-zero: a bad checksum).
    mutating func header(_ name: String, type: Character = "0", size: Int = 0, prefix: String = "", linkName: String = "",
                         magic: Magic = .posix, sizeField: [UInt8]? = nil, checksumDelta: Int = 0) {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ s: [UInt8], _ at: Int, _ max: Int) {
            for (i, b) in s.prefix(max).enumerated() { h[at + i] = b }
        }
        func octal(_ v: Int, _ width: Int) -> [UInt8] {
            Array(String(v, radix: 8).leftPad(width - 1).utf8) + [0]
        }
        put(Array(name.utf8), 0, 100)
        put(octal(0o644, 8), 100, 8)
        put(octal(0, 8), 108, 8)
        put(octal(0, 8), 116, 8)
        put(sizeField ?? octal(size, 12), 124, 12)
        put(octal(1_700_000_000, 12), 136, 12)
        h[156] = type.asciiValue!
        put(Array(linkName.utf8), 157, 100)
        switch magic {
        case .posix: put(Array("ustar\0".utf8), 257, 6); put(Array("00".utf8), 263, 2)
        case .gnu: put(Array("ustar  \0".utf8), 257, 8)
        case .none: break
        }
        put(Array("claimgate".utf8), 265, 32)
        put(Array("claimgate".utf8), 297, 32)
        if magic == .posix { put(Array(prefix.utf8), 345, 155) }
        for i in 148..<156 { h[i] = 0x20 }
        let sum = h.reduce(0) { $0 + Int($1) } + checksumDelta
        put(Array(String(sum, radix: 8).leftPad(6).utf8) + [0, 0x20], 148, 8)
        bytes += h
    }

    /// Appends data padded with `pad` to a whole block.
    mutating func data(_ d: [UInt8], pad: UInt8 = 0) {
        bytes += d
        let r = d.count % 512
        if r != 0 { bytes += [UInt8](repeating: pad, count: 512 - r) }
    }

    /// A regular file: header and data.
    mutating func file(_ name: String, _ d: [UInt8]) {
        header(name, size: d.count)
        data(d)
    }

    /// A pax extended header with these records (each "<len> key=value\n").
    mutating func pax(_ records: [(String, String)]) {
        paxRaw(records.flatMap { Self.record($0.0, Array($0.1.utf8)) })
    }

    /// A pax extended header holding exactly `raw`.
    mutating func paxRaw(_ raw: [UInt8], declaredSize: Int? = nil) {
        header("PaxHeaders/x", type: "x", size: declaredSize ?? raw.count)
        data(raw)
    }

    /// One pax record with its self-counting length.
    static func record(_ key: String, _ value: [UInt8]) -> [UInt8] {
        let body = Array(" \(key)=".utf8) + value + [0x0A]
        var length = body.count + 1
        while String(length).count + body.count != length { length = String(length).count + body.count }
        return Array(String(length).utf8) + body
    }

    /// The two zero blocks that end an archive.
    mutating func end() {
        bytes += [UInt8](repeating: 0, count: 1024)
    }

    /// A minimal valid bundle archive: one document, then the manifest, then the end.
    static func minimal(document: [UInt8] = Array("%PDF-1.4\n".utf8)) -> TarCraft {
        var t = TarCraft()
        t.file("documents/a.pdf", document)
        t.file("manifest.json", Array("{}".utf8))
        t.end()
        return t
    }
}

extension String {
    func leftPad(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
