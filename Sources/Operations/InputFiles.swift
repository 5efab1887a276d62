import ClaimGateCore
import Foundation
import Synchronization

/// The files a change reads (an agreement file and the certificate, CRL and key files it names;
/// a rotation's certificate), each read once. Read from disk, it keeps what it read, so that a
/// change that waits for a second operator holds its inputs as they were; a pending change
/// replays them when it is approved, and no path is ever read again.
///
/// Files are keyed by their absolute path as resolved when first read; replaying, the same
/// limits and the UTF-8 check apply as when reading.
public final class InputFiles: Sendable {
    private let kept: Mutex<[String: Data]>
    /// Replaying: the files there are to replay.
    private let offered: [String: Data]?
    /// Replaying: what a file not offered is, after its path (`is not among …`).
    private let missing: String

    /// Reads from disk, keeping what it reads.
    public init() {
        kept = Mutex([:])
        offered = nil
        missing = ""
    }

    /// Replays files kept earlier, or sent by a client; nothing is read from disk.
    /// - Parameters:
    ///   - files: the files, by absolute path (as `FileSystem.absolute` gives it).
    ///   - missing: what a file asked for and not among `files` is told, after its path.
    public init(kept files: [String: Data],
                missing: String = "is not among the files the change was proposed with: withdraw it and propose it again") {
        kept = Mutex([:])
        offered = files
        self.missing = missing
    }

    /// Every file read (or replayed) so far, by absolute path.
    public var contents: [String: Data] { kept.withLock { $0 } }

    /// The bytes of the input file at `path`, as `FileSystem.readInputBytes` reads them.
    /// - Throws: `unreadable-input` when it cannot be read (replaying: when it was not kept),
    ///   `invalid-argument` when it is over `limit`.
    func bytes(_ path: String, what: String, limit: Int = 1 << 20) throws -> [UInt8] {
        let key = FileSystem.absolute(path)
        if let offered {
            guard let data = offered[key] else {
                throw ClaimGateError(.unreadableInput, "The \(what) \(path) \(missing).")
            }
            guard data.count <= limit else {
                throw ClaimGateError(.invalidArgument, "The \(what) \(path) is over \(limit / 1024) KiB: is it the right file?")
            }
            kept.withLock { $0[key] = data }
            return Array(data)
        }
        let bytes = try FileSystem.readInputBytes(path, what: what, limit: limit)
        kept.withLock { $0[key] = Data(bytes) }
        return bytes
    }

    /// The input file at `path` as UTF-8 text, as `FileSystem.readInput` reads it.
    func text(_ path: String, what: String, limit: Int = 1 << 20) throws -> String {
        guard let text = String(validating: try bytes(path, what: what, limit: limit), as: UTF8.self) else {
            throw ClaimGateError(.invalidArgument, "The \(what) \(path) is not UTF-8 text: is it the right file?")
        }
        return text
    }
}
