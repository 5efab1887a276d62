import Foundation
import COpenSSL

/// Incremental SHA-256 (OpenSSL EVP, SHA-NI where the CPU has it).
public final class SHA256Hasher {
    private let ctx: OpaquePointer

    public init() {
        ctx = EVP_MD_CTX_new()!
        precondition(EVP_DigestInit_ex(ctx, EVP_sha256(), nil) == 1, "SHA-256 unavailable in this OpenSSL")
    }

    deinit { EVP_MD_CTX_free(ctx) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(ctx, base, bytes.count)
    }

    public func update(_ bytes: some ContiguousBytes) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Finishes the digest and returns it as lowercase hex.
    public func finalizeHex() -> String {
        var out = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        EVP_DigestFinal_ex(ctx, &out, &len)
        return Hex.encode(out)
    }

    /// SHA-256 of a file's content as lowercase hex, read in 1 MiB pieces.
    public static func hex(file path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw EnvelopeError(.unreadable, "Cannot read \(path).") }
        defer { close(fd) }
        let hasher = SHA256Hasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n == 0 { break }
            guard n > 0 else { throw EnvelopeError(.io, "Reading \(path) failed.") }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return hasher.finalizeHex()
    }

    /// SHA-256 of `bytes` as lowercase hex.
    public static func hex(_ bytes: some ContiguousBytes) -> String {
        let h = SHA256Hasher()
        h.update(bytes)
        return h.finalizeHex()
    }
}

public enum Hex {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xF)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of a hex string (either case); nil when it is not an even run of hex digits.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            case 0x41...0x46: c - 0x41 + 10
            default: nil
            }
        }
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let hi = nibble(utf8[i]), let lo = nibble(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}
