import ArgumentParser
import ClaimGateApp
import Operations
import ClaimGateCore
import Foundation
import Logging

@main
struct Claimgate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "claimgate",
        abstract: "Secure exchange of insurance claim documents with partners, under their agreements.",
        discussion: """
        State lives in --home DIR, else $CLAIMGATE_HOME, else ./.claimgate.
        Start with `claimgate demo`, or `claimgate init` then `claimgate partner add partners/FILE.yaml`.
        """,
        subcommands: [InitCommand.self, IdentityCommand.self, PartnerCommand.self, SealCommand.self, SendCommand.self,
                      OpenCommand.self, BundleCommand.self, DeliveriesCommand.self, InboxCommand.self, AuditCommand.self, PurgeCommand.self, OperatorCommand.self, PendingCommand.self, ApproveCommand.self, SealReportCommand.self, DoctorCommand.self, ServeCommand.self, DemoCommand.self, DevPKICommand.self])

    static func main() async {
        useUTF8CharacterType()
        do {
            var command = try parseAsRoot()
            // `serve` logs the gateway's events and one access line per request at info; other
            // commands print their result and log only warnings.
            if let serve = command as? ServeCommand {
                LogOutput.bootstrap(format: serve.logFormat, level: .info)
            } else {
                LogOutput.bootstrap(format: .text, level: .warning)
            }
            defer { sealAuditTrails(); RemoteClients.closeAll() }
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let e as ClaimGateError {
            FileHandle.standardError.write(Data("error: \(e.message)\n".utf8))
            if let d = e.diagnostics, ProcessInfo.processInfo.environment["CLAIMGATE_LOG"] == "debug" {
                FileHandle.standardError.write(Data("  detail: \(d)\n".utf8))
            }
            Foundation.exit(ExitStatus.for(e.code))
        } catch {
            // SQLite's own report (damaged, not a database, read-only…) as one sentence and 74.
            if let e = Gateway.explainStoreError(error) {
                FileHandle.standardError.write(Data("error: \(e.message)\n".utf8))
                Foundation.exit(ExitStatus.for(e.code))
            }
            exit(withError: error)
        }
    }
}

/// Exit statuses: 0 success, 64 bad usage, 65 refused by policy or a rejected bundle, a pending
/// change expired, settled or outdated, 66 unknown partner/bundle/operator/change or an input
/// file that cannot be read, 73 cannot create,
/// 74 I/O, 77 an operator not permitted the action, 78 not initialised.
enum ExitStatus {
    static func `for`(_ code: ClaimGateError.Code) -> Int32 { code.exitStatus }
}

/// After a command that wrote audit entries (including refusals, and commands that failed
/// part-way), sign a checkpoint so the new entries are sealed. A failure here does not undo the
/// command; it is reported, and the next command or `serve` seals the entries.
func sealAuditTrails() {
    for gateway in Gateway.openedInThisProcess {
        do { try gateway.sealAuditTrail() } catch {
            let why = (error as? ClaimGateError)?.message ?? Gateway.explainStoreError(error)?.message ?? "\(error)"
            FileHandle.standardError.write(Data("warning: the audit trail could not be sealed with a checkpoint (\(why)); the next command or `claimgate serve` will seal it.\n".utf8))
        }
    }
}

struct HomeOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Gateway state folder (default $CLAIMGATE_HOME, else ./.claimgate).", valueName: "DIR"))
    var home: String?

    var resolved: Home { Home.resolve(option: home) }
    func gateway() throws -> Gateway { try Gateway.open(home: resolved, logger: Logger(label: "claimgate")) }
    /// The home opened for reading only, for commands that write nothing: its files are left as
    /// they were, and a read-only copy of a home works.
    func readOnlyGateway() throws -> Gateway { try Gateway.openReadOnly(home: resolved, logger: Logger(label: "claimgate")) }
}

func printJSON(_ value: some Encodable) throws {
    print(try JSONOutput.string(value))
}

/// Document names are UTF-8. libarchive converts names through the process locale, which is "C"
/// (ASCII) unless set, and then cannot write or read a name such as `Überweisung.pdf`: use a
/// UTF-8 character type whatever the environment says (C.UTF-8 ships with glibc).
func useUTF8CharacterType() {
    for name in ["C.UTF-8", "C.utf8", "en_US.UTF-8"] where setlocale(LC_CTYPE, name) != nil { return }
}

/// Who runs a command at the shell: the account of the process's real uid (`local:uid=N(name)`
/// in the audit trail), never `$USER`. Every operation the command calls acts as this principal;
/// local use keeps every right (bootstrap and break-glass).
let localPrincipal: Principal = LocalAccount.current()
