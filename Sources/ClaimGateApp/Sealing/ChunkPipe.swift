import Foundation

/// A bounded, single-producer single-consumer byte pipe between two threads, built from a fixed
/// set of reusable buffers: memory stays constant whatever passes through it.
final class ChunkPipe: @unchecked Sendable {
    private let cond = NSCondition()
    private let slotSize: Int
    private var free: [UnsafeMutableRawBufferPointer]
    private var full: [(UnsafeMutableRawBufferPointer, Int)] = []
    private var filling: UnsafeMutableRawBufferPointer?
    private var filled = 0
    private var closed = false
    private var failed: Error?
    private var all: [UnsafeMutableRawBufferPointer]

    /// - Parameters:
    ///   - slots: number of buffers in flight.
    ///   - slotSize: bytes per buffer.
    ///   - alignment: buffer alignment (4096 for O_DIRECT writes).
    init(slots: Int, slotSize: Int, alignment: Int = 64) {
        self.slotSize = slotSize
        all = (0..<slots).map { _ in .allocate(byteCount: slotSize, alignment: alignment) }
        free = all
    }

    deinit { all.forEach { $0.deallocate() } }

    // MARK: Producer side

    /// Copies `bytes` into the pipe, waiting for the consumer when all buffers are in use.
    func append(_ bytes: UnsafeRawBufferPointer) throws {
        var rest = bytes
        while !rest.isEmpty {
            if filling == nil { filling = try takeFree() }
            let slot = filling!
            let n = min(rest.count, slotSize - filled)
            (slot.baseAddress! + filled).copyMemory(from: rest.baseAddress!, byteCount: n)
            filled += n
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if filled == slotSize { publish() }
        }
    }

    /// Publishes what is buffered and tells the consumer nothing more will come.
    func close() {
        if filling != nil { publish() }
        cond.lock(); closed = true; cond.broadcast(); cond.unlock()
    }

    private func takeFree() throws -> UnsafeMutableRawBufferPointer {
        cond.lock(); defer { cond.unlock() }
        while free.isEmpty && failed == nil { cond.wait() }
        if let failed { throw failed }
        return free.removeLast()
    }

    private func publish() {
        cond.lock()
        full.append((filling!, filled))
        cond.broadcast()
        cond.unlock()
        filling = nil
        filled = 0
    }

    // MARK: Consumer side

    /// Hands each published buffer to `consume`, in order, until the producer closes the pipe.
    func drain(_ consume: (UnsafeRawBufferPointer) throws -> Void) throws {
        while true {
            cond.lock()
            while full.isEmpty && !closed && failed == nil { cond.wait() }
            if let failed { cond.unlock(); throw failed }
            if full.isEmpty { cond.unlock(); return }
            let (slot, count) = full.removeFirst()
            cond.unlock()
            try consume(UnsafeRawBufferPointer(rebasing: slot[0..<count]))
            cond.lock(); free.append(slot); cond.broadcast(); cond.unlock()
        }
    }

    // MARK: Either side

    /// Stops both sides: the other side's next call throws `error`.
    func fail(_ error: Error) {
        cond.lock()
        if failed == nil { failed = error }
        cond.broadcast()
        cond.unlock()
    }
}
