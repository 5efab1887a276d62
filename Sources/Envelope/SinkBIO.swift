import COpenSSL

/// An OpenSSL source/sink BIO that hands every write to a Swift closure, so the sealed stream
/// can go to another thread instead of a file descriptor.
final class SinkBIO {
    typealias Sink = (UnsafeRawBufferPointer) throws -> Void

    /// The BIO; owned by this value until `release()` hands it to a chain.
    let bio: OpaquePointer
    private let sink: Sink
    /// The first error the sink threw; the write that failed returned -1 to OpenSSL.
    private(set) var error: Error?

    nonisolated(unsafe) private static let method: OpaquePointer = {
        let m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "claimgate sink")!
        BIO_meth_set_write(m) { bio, data, length in
            guard let bio, let ctx = BIO_get_data(bio) else { return -1 }
            let me = Unmanaged<SinkBIO>.fromOpaque(ctx).takeUnretainedValue()
            guard me.error == nil else { return -1 }
            do {
                try me.sink(UnsafeRawBufferPointer(start: data, count: Int(length)))
                return length
            } catch {
                me.error = error
                return -1
            }
        }
        BIO_meth_set_ctrl(m) { _, cmd, _, _ in
            cmd == BIO_CTRL_FLUSH ? 1 : 0
        }
        BIO_meth_set_create(m) { bio in
            BIO_set_init(bio, 1)
            return 1
        }
        return m
    }()

    init(sink: @escaping Sink) throws {
        guard let b = BIO_new(Self.method) else { throw EnvelopeError(.io, "Out of memory.") }
        bio = b
        self.sink = sink
        BIO_set_data(b, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit { BIO_free(bio) }
}
