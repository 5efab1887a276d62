import Foundation

/// Things tests must not leave behind even when a shared fixture is never released: server
/// processes are killed and temporary folders removed when the test process exits.
enum Cleanup {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var pids: Set<Int32> = []
    nonisolated(unsafe) private static var folders: Set<String> = []
    nonisolated(unsafe) private static var installed = false

    static func register(pid: Int32) { mutate { pids.insert(pid) } }
    static func unregister(pid: Int32) { mutate { pids.remove(pid) } }
    static func register(folder: String) { mutate { folders.insert(folder) } }
    static func unregister(folder: String) { mutate { folders.remove(folder) } }

    private static func mutate(_ body: () -> Void) {
        lock.lock()
        defer { lock.unlock() }
        body()
        if !installed {
            installed = true
            atexit { Cleanup.run() }
        }
    }

    private static func run() {
        lock.lock()
        let (p, f) = (pids, folders)
        lock.unlock()
        for pid in p { kill(pid, SIGKILL) }
        for folder in f { try? FileManager.default.removeItem(atPath: folder) }
    }
}
