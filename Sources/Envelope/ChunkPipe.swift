import Foundation

/// A bounded, single-producer single-consumer byte pipe between two threads, built from a fixed
/// set of reusable buffers: memory stays constant whatever passes through it. The buffers carry
/// plaintext (documents being sealed, a bundle being opened), so they are wiped when the pipe
/// goes away.
public final class ChunkPipe: @unchecked Sendable {
    private let cond = NSCondition()
    private let slotSize: Int
    private var free: [UnsafeMutableRawBufferPointer]
    private var full: [(UnsafeMutableRawBufferPointer, Int)] = []
    private var filling: UnsafeMutableRawBufferPointer?
    private var filled = 0
    private var closed = false
    private var failed: Error?
    private var all: [UnsafeMutableRawBufferPointer]
    /// How much of any buffer was ever filled: what the wipe must cover.
    private var highWater = 0

    /// - Parameters:
    ///   - slots: number of buffers in flight.
    ///   - slotSize: bytes per buffer.
    ///   - alignment: buffer alignment (4096 for O_DIRECT writes).
    public init(slots: Int, slotSize: Int, alignment: Int = 64) {
        self.slotSize = slotSize
        all = (0..<slots).map { _ in .allocate(byteCount: slotSize, alignment: alignment) }
        free = all
    }

    deinit {
        for b in all {
            UnsafeMutableRawBufferPointer(rebasing: b[0..<highWater]).initializeMemory(as: UInt8.self, repeating: 0)
            b.deallocate()
        }
    }

    // MARK: Producer side

    /// Copies `bytes` into the pipe, waiting for the consumer when all buffers are in use.
    public func append(_ bytes: UnsafeRawBufferPointer) throws {
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
    public func close() {
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
        highWater = max(highWater, filled)
        cond.lock()
        full.append((filling!, filled))
        cond.broadcast()
        cond.unlock()
        filling = nil
        filled = 0
    }

    // MARK: Consumer side

    /// Hands each published buffer to `consume`, in order, until the producer closes the pipe.
    public func drain(_ consume: (UnsafeRawBufferPointer) throws -> Void) throws {
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
    public func fail(_ error: Error) {
        cond.lock()
        if failed == nil { failed = error }
        cond.broadcast()
        cond.unlock()
    }
}
