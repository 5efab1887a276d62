import COpenSSL

/// An OpenSSL memory BIO, owned and freed by this value.
final class MemoryBIO {
    let bio: OpaquePointer

    init() throws {
        guard let b = BIO_new(BIO_s_mem()) else { throw EnvelopeError(.io, "Out of memory.") }
        bio = b
    }

    init(bytes: some Collection<UInt8>) throws {
        let array = Array(bytes)
        guard let b = array.withUnsafeBytes({ BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }) else {
            throw EnvelopeError(.io, "Out of memory.")
        }
        // BIO_new_mem_buf does not copy: keep a read-write copy instead.
        BIO_free(b)
        guard let m = BIO_new(BIO_s_mem()) else { throw EnvelopeError(.io, "Out of memory.") }
        _ = array.withUnsafeBytes { BIO_write(m, $0.baseAddress, Int32($0.count)) }
        bio = m
    }

    deinit { BIO_free(bio) }

    var bytes: [UInt8] {
        var p: UnsafeMutablePointer<CChar>?
        let n = shim_BIO_get_mem_data(bio, &p)
        guard n > 0, let p else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }

    var string: String { String(decoding: bytes, as: UTF8.self) }
}
