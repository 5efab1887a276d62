import ArgumentParser
import DevTools
import Foundation

/// `scripts/bench audit` drives this: durable group-commit appends from concurrent writers into
/// a scratch gateway, then verification of the whole chain. Never touches a real home: it
/// refuses a folder that exists.
struct AuditBenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark",
        abstract: "Measure audit appends and verification in a scratch gateway (for scripts/bench).",
        shouldDisplay: false)

    @Option(help: ArgumentHelp("A folder that does not exist yet; the scratch gateway is created there.", valueName: "DIR"))
    var scratch: String
    @Option(help: "Entries to append.") var entries = 100_000
    @Option(help: "Concurrent writers (threads), as partner sessions would be.") var writers = 64

    func validate() throws {
        guard !FileManager.default.fileExists(atPath: scratch) else {
            throw ValidationError("--scratch \(scratch) exists: give a new folder (the benchmark never writes into a real gateway).")
        }
        guard entries > 0, (1...1024).contains(writers) else { throw ValidationError("--entries > 0 and --writers 1…1024.") }
    }

    func run() throws {
        for line in try AuditBenchmark.run(scratch: scratch, entries: entries, writers: writers, by: localPrincipal) { print(line) }
    }
}
