import ArgumentParser
import ClaimGateCore
import Foundation
import Operations

struct OperatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator", abstract: "Add and manage operators: people with roles and a client certificate from the operator CA.",
        discussion: "Roles, what each allows and how operators are attributed in the audit trail: docs/operators.md.",
        subcommands: [Add.self, List.self, Show.self, Suspend.self, Resume.self, Remove.self, Grant.self, Revoke.self, CertificateChain.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an operator and issue its client certificate from the gateway's operator CA.",
            discussion: "Writes DIR/NAME.pem (the certificate followed by the operator CA) and DIR/NAME.key (its private key, mode 0600; the gateway keeps no copy), and prints the certificate's SHA-256 fingerprint as `openssl x509 -noout -fingerprint -sha256 -in DIR/NAME.pem` prints it.")
        @OptionGroup var home: HomeOption
        @Argument(help: "The operator's name: 1 to 64 of a-z, 0-9, '-', '.', '_', starting with a letter.") var name: String
        @Option(help: ArgumentHelp("Roles, comma-separated: claims-operator, partner-admin, auditor, security-officer.", valueName: "ROLE[,ROLE…]"))
        var role: String
        @Option(help: ArgumentHelp("Only these partners (comma-separated ids); every partner when left out.", valueName: "ID,…"))
        var partners: String?
        @Option(help: ArgumentHelp("An extra grant: inbox-export (a claims operator may then export inbound documents).", valueName: "GRANT"))
        var grant: [String] = []
        @Option(help: ArgumentHelp("How long the certificate is valid.", valueName: "DAYS")) var days = 365
        @Option(help: ArgumentHelp("Folder to write NAME.pem and NAME.key to.", valueName: "DIR")) var out: String
        @Flag(help: "Print the operator as JSON (after writing the files).") var json = false

        func run() throws {
            let roles = try Role.parseList(role)
            let grants = try Set(grant.flatMap { $0.split(separator: ",") }.map { text -> OperatorGrant in
                guard case .grant(let g) = try OperatorRight(parsing: String(text)) else {
                    throw ClaimGateError(.invalidArgument, "--grant \(text) is a role: pass roles with --role.")
                }
                return g
            })
            let scope = partners.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            let outcome = try home.gateway().addOperator(name, roles: roles, grants: grants, partners: scope, days: days, by: localPrincipal)
            guard case .applied(let issued) = outcome else { return try printPending(outcome.pendingChange!, json: json) }
            let (cert, key) = try issued.write(to: out)
            if json { try printJSON(OperatorView(issued.operator)); return }
            print("Added operator \(issued.operator.id) (\(issued.operator.summary)), certificate valid until \(Timestamp.format(issued.operator.certificate.notAfter)).")
            print("certificate \(cert)")
            print("key         \(key) (mode 0600: hand it over privately)")
            print(issued.operator.certificate.openSSLFingerprint)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List operators (removed ones too).")
        @OptionGroup var home: HomeOption
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let operators = try home.gateway().operators(by: localPrincipal)
            if json { try printJSON(operators.map(OperatorView.init)); return }
            if operators.isEmpty { print("No operators yet: `claimgate operator add NAME --role ROLE --out DIR`."); return }
            print("NAME".padding(24) + "STATE".padding(11) + "ROLES".padding(44) + "CERTIFICATE EXPIRES")
            for o in operators {
                let roles = o.roles.sorted().map(\.rawValue).joined(separator: ",") + (o.grants.isEmpty ? "" : " +" + o.grants.sorted().map(\.rawValue).joined(separator: ",+"))
                print(o.id.rawValue.padding(24) + o.state.rawValue.padding(11) + roles.padding(44) + Timestamp.format(o.certificate.notAfter))
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one operator.")
        @OptionGroup var home: HomeOption
        @Argument(help: "Operator name.") var name: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let v = OperatorView(try home.gateway().operator(name, by: localPrincipal))
            if json { try printJSON(v); return }
            print("""
            \(v.name) (\(v.state))
              roles        \(v.roles.isEmpty ? "none" : v.roles.joined(separator: ", "))
              grants       \(v.grants.isEmpty ? "none" : v.grants.joined(separator: ", "))
              partners     \(v.partners.map { $0.joined(separator: ", ") } ?? "all")
              certificate  serial \(v.certificateSerial), expires \(v.certificateNotAfter)
                           \(v.certificateFingerprint)
              created      \(v.createdAt) by \(v.createdBy)
              changed      \(v.changedAt) by \(v.changedBy)
            """)
        }
    }

    struct Suspend: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refuse every action of an operator until `operator resume` (at its next action).")
        @OptionGroup var home: HomeOption
        @Argument(help: "Operator name.") var name: String

        func run() throws {
            try home.gateway().suspendOperator(name, by: localPrincipal)
            print("Suspended operator \(name): every action it asks for is refused until `claimgate operator resume \(name)`.")
        }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lift an operator's suspension.")
        @OptionGroup var home: HomeOption
        @Argument(help: "Operator name.") var name: String

        func run() throws {
            try home.gateway().resumeOperator(name, by: localPrincipal)
            print("Resumed operator \(name).")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an operator for good (its name stays taken, its history is kept).")
        @OptionGroup var home: HomeOption
        @Argument(help: "Operator name.") var name: String

        func run() throws {
            try home.gateway().removeOperator(name, by: localPrincipal)
            print("Removed operator \(name).")
        }
    }

    struct Grant: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give an operator a role or the grant inbox-export.")
        @OptionGroup var home: HomeOption
        @Argument(help: "Operator name.") var name: String
        @Argument(help: ArgumentHelp("A role (claims-operator, partner-admin, auditor, security-officer) or inbox-export.", valueName: "ROLE|GRANT"))
        var right: String

        @Flag(help: "Print JSON (for a change that waits for a second operator: {\"pending\": ID}).") var json = false

        func run() throws {
            let outcome = try home.gateway().grantOperator(name, try OperatorRight(parsing: right), by: localPrincipal)
            guard case .applied(let o) = outcome else { return try printPending(outcome.pendingChange!, json: json) }
            if json { try printJSON(OperatorView(o)); return }
            print("Operator \(o.id) now has \(o.summary).")
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take a role or the grant inbox-export back from an operator.")
        @OptionGroup var home: HomeOption
        @Argument(help: "Operator name.") var name: String
        @Argument(help: ArgumentHelp("A role or inbox-export.", valueName: "ROLE|GRANT")) var right: String

        func run() throws {
            let o = try home.gateway().revokeOperator(name, try OperatorRight(parsing: right), by: localPrincipal)
            print("Operator \(o.id) now has \(o.summary).")
        }
    }

    struct CertificateChain: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "certificate", abstract: "Print an operator's certificate chain (PEM): its certificate on record, then the operator CA.",
            discussion: "Public material: for an operator added with its own public key, or to hand a chain over again. `claimgate operator certificate NAME > NAME.pem`; `openssl verify -CAfile <(claimgate identity --operator-ca-pem) NAME.pem` checks it.")
        @OptionGroup var home: HomeOption
        @Argument(help: "Operator name.") var name: String

        func run() throws {
            print(try home.readOnlyGateway().operatorCertificateChainPEM(name, by: localPrincipal), terminator: "")
        }
    }
}
