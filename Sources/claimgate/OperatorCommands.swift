import ArgumentParser
import ClaimGateCore
import Foundation
import Operations
import Envelope
import OperatorClient

struct OperatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator", abstract: "Add and manage operators: people with roles and a client certificate from the operator CA.",
        discussion: "Roles, what each allows and how operators are attributed in the audit trail: docs/operators.md.",
        subcommands: [Add.self, List.self, Show.self, Suspend.self, Resume.self, Remove.self, Grant.self, Revoke.self, CertificateChain.self,
                      Password.self, TOTPEnrol.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an operator and issue its client certificate from the gateway's operator CA.",
            discussion: "Writes DIR/NAME.pem (the certificate followed by the operator CA) and DIR/NAME.key (its private key, mode 0600; the gateway keeps no copy), and prints the certificate's SHA-256 fingerprint as `openssl x509 -noout -fingerprint -sha256 -in DIR/NAME.pem` prints it.")
        @OptionGroup var home: GatewayOptions
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
            if let api = try home.remote() { return try remote(api, roles: roles, grants: grants, scope: scope) }
            let outcome = try home.gateway().addOperator(name, roles: roles, grants: grants, partners: scope, days: days, by: localPrincipal)
            guard case .applied(let issued) = outcome else { return try printPending(outcome.pendingChange!, json: json) }
            let (cert, key) = try issued.write(to: out)
            if json { try printJSON(OperatorView(issued.operator)); return }
            print("Added operator \(issued.operator.id) (\(issued.operator.summary)), certificate valid until \(Timestamp.format(issued.operator.certificate.notAfter)).")
            print("certificate \(cert)")
            print("key         \(key) (mode 0600: hand it over privately)")
            print(issued.operator.certificate.openSSLFingerprint)
        }

        /// Through the operator API: the key pair is made here and only the public key is sent,
        /// so the private key never leaves this machine; the gateway answers the certificate.
        func remote(_ api: OperatorAPIClient, roles: Set<Role>, grants: Set<OperatorGrant>, scope: [String]?) throws {
            let dir = FileSystem.absolute(out)
            let certPath = dir + "/" + name + ".pem", keyPath = dir + "/" + name + ".key"
            for path in [certPath, keyPath] where FileManager.default.fileExists(atPath: path) {
                throw ClaimGateError(.invalidArgument, "\(path) already exists: choose another --out folder, or move it away.")
            }
            let key: PrivateKey, publicKey: String, keyPEM: String
            do {
                key = try PrivateKey.generate(.p256)
                (publicKey, keyPEM) = (try key.publicKeyPEM(), try key.pkcs8PEM())
            } catch let e as EnvelopeError { throw ClaimGateError(.io, "Cannot make the operator's key pair: \(e.message)") }
            struct Body: Encodable { let name: String; let roles: [String]; let grants: [String]; let partners: [String]?; let days: Int; let public_key: String }
            struct Added: Decodable { let `operator`: OperatorView; let certificate_chain_pem: String }
            let body = Body(name: name, roles: roles.sorted().map(\.rawValue), grants: grants.sorted().map(\.rawValue),
                            partners: scope, days: days, public_key: publicKey)
            let outcome = try api.change(Added.self, ["v1", "operators"], body: body)
            try FileSystem.makeDirectory(dir, mode: 0o700)
            try FileSystem.writeAtomically(Data(keyPEM.utf8), to: keyPath, mode: 0o600)
            guard case .applied(let added) = outcome else {
                guard case .pending(let change) = outcome else { return }
                try printPending(change, json: json)
                if !json {
                    print("key         \(keyPath) (mode 0600: kept for the certificate; once the change is approved, `claimgate operator certificate \(name) > \(certPath)`)")
                }
                return
            }
            try FileSystem.writeAtomically(Data(added.certificate_chain_pem.utf8), to: certPath, mode: 0o644)
            let v = added.operator
            if json { try printJSON(v); return }
            print("Added operator \(v.name) (\(v.summary)), certificate valid until \(v.certificateNotAfter).")
            print("certificate \(certPath)")
            print("key         \(keyPath) (mode 0600: hand it over privately)")
            print(v.certificateFingerprint)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List operators (removed ones too).")
        @OptionGroup var home: GatewayOptions
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let operators: [OperatorView]
            if let api = try home.remote() {
                operators = try api.get(["v1", "operators"])
            } else {
                operators = try home.gateway().operators(by: localPrincipal).map(OperatorView.init)
            }
            if json { try printJSON(operators); return }
            if operators.isEmpty { print("No operators yet: `claimgate operator add NAME --role ROLE --out DIR`."); return }
            print("NAME".padding(24) + "STATE".padding(11) + "ROLES".padding(44) + "CERTIFICATE EXPIRES")
            for o in operators {
                let roles = o.roles.joined(separator: ",") + (o.grants.isEmpty ? "" : " +" + o.grants.joined(separator: ",+"))
                print(o.name.padding(24) + o.state.padding(11) + roles.padding(44) + o.certificateNotAfter)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one operator.")
        @OptionGroup var home: GatewayOptions
        @Argument(help: "Operator name.") var name: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let v: OperatorView
            if let api = try home.remote() {
                v = try api.get(["v1", "operators", name])
            } else {
                v = try home.gateway().operatorView(name, by: localPrincipal)
            }
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
            if let console = v.console { print("  console      \(console.summary)") }
        }
    }

    struct Suspend: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refuse every action of an operator until `operator resume` (at its next action).")
        @OptionGroup var home: GatewayOptions
        @Argument(help: "Operator name.") var name: String

        func run() throws {
            if let api = try home.remote() {
                let _: OperatorView = try api.post(["v1", "operators", name, "suspend"])
            } else {
                try home.gateway().suspendOperator(name, by: localPrincipal)
            }
            print("Suspended operator \(name): every action it asks for is refused until `claimgate operator resume \(name)`.")
        }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lift an operator's suspension.")
        @OptionGroup var home: GatewayOptions
        @Argument(help: "Operator name.") var name: String

        func run() throws {
            if let api = try home.remote() {
                let _: OperatorView = try api.post(["v1", "operators", name, "resume"])
            } else {
                try home.gateway().resumeOperator(name, by: localPrincipal)
            }
            print("Resumed operator \(name).")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an operator for good (its name stays taken, its history is kept).")
        @OptionGroup var home: GatewayOptions
        @Argument(help: "Operator name.") var name: String

        func run() throws {
            if let api = try home.remote() {
                let _: OperatorView = try api.post(["v1", "operators", name, "remove"])
            } else {
                try home.gateway().removeOperator(name, by: localPrincipal)
            }
            print("Removed operator \(name).")
        }
    }

    struct Grant: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give an operator a role or the grant inbox-export.")
        @OptionGroup var home: GatewayOptions
        @Argument(help: "Operator name.") var name: String
        @Argument(help: ArgumentHelp("A role (claims-operator, partner-admin, auditor, security-officer) or inbox-export.", valueName: "ROLE|GRANT"))
        var right: String

        @Flag(help: "Print JSON (for a change that waits for a second operator: {\"pending\": ID}).") var json = false

        func run() throws {
            let o: OperatorView
            if let api = try home.remote() {
                switch try api.change(OperatorView.self, ["v1", "operators", name, "grant"], body: ["right": right]) {
                case .pending(let c): return try printPending(c, json: json)
                case .applied(let v): o = v
                }
            } else {
                let g = try home.gateway()
                let outcome = try g.grantOperator(name, try OperatorRight(parsing: right), by: localPrincipal)
                guard case .applied(let op) = outcome else { return try printPending(outcome.pendingChange!, json: json, now: g.clock.now) }
                o = OperatorView(op)
            }
            if json { try printJSON(o); return }
            print("Operator \(o.name) now has \(o.summary).")
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take a role or the grant inbox-export back from an operator.")
        @OptionGroup var home: GatewayOptions
        @Argument(help: "Operator name.") var name: String
        @Argument(help: ArgumentHelp("A role or inbox-export.", valueName: "ROLE|GRANT")) var right: String

        func run() throws {
            let o: OperatorView
            if let api = try home.remote() {
                o = try api.post(["v1", "operators", name, "revoke"], body: ["right": right])
            } else {
                o = OperatorView(try home.gateway().revokeOperator(name, try OperatorRight(parsing: right), by: localPrincipal))
            }
            print("Operator \(o.name) now has \(o.summary).")
        }
    }

    struct CertificateChain: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "certificate", abstract: "Print an operator's certificate chain (PEM): its certificate on record, then the operator CA.",
            discussion: "Public material: for an operator added with its own public key, or to hand a chain over again. `claimgate operator certificate NAME > NAME.pem`; `openssl verify -CAfile <(claimgate identity --operator-ca-pem) NAME.pem` checks it.")
        @OptionGroup var home: GatewayOptions
        @Argument(help: "Operator name.") var name: String

        func run() throws {
            if let api = try home.remote() {
                print(try api.call(.GET, ["v1", "operators", name, "certificate"]).text, terminator: "")
                return
            }
            print(try home.readOnlyGateway().operatorCertificateChainPEM(name, by: localPrincipal), terminator: "")
        }
    }

    struct Password: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set an operator's web console password (at least 12 characters; kept as a bcrypt hash).",
            discussion: "Read twice without echo at a terminal, or as one line from standard input. Ends the operator's console sessions and lifts a lock. The console also needs a TOTP: `claimgate operator totp NAME`.")
        @OptionGroup var home: GatewayOptions
        @Argument(help: "Operator name.") var name: String

        func run() throws {
            let password = try PasswordPrompt.read(for: name)
            if let api = try home.remote() {
                struct Body: Encodable { let password: String }
                let _: OperatorView = try api.post(["v1", "operators", name, "password"], body: Body(password: password))
            } else {
                try home.gateway().setConsolePassword(name, password: password, by: localPrincipal)
            }
            print("Set the console password of operator \(name).")
        }
    }

    struct TOTPEnrol: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "totp",
            abstract: "Enrol a new TOTP secret for an operator's web console sign-in and print its otpauth:// URI once.",
            discussion: "Give the URI (or a QR code of it) to the operator only, for an authenticator app (RFC 6238, 6 digits, 30 seconds). The previous secret stops working and the operator's console sessions end.")
        @OptionGroup var home: GatewayOptions
        @Argument(help: "Operator name.") var name: String

        func run() throws {
            let uri: String
            if let api = try home.remote() {
                struct Enrolled: Decodable { let otpauth_uri: String }
                let e: Enrolled = try api.post(["v1", "operators", name, "totp"])
                uri = e.otpauth_uri
            } else {
                uri = try home.gateway().enrolConsoleTOTP(name, by: localPrincipal)
            }
            print(uri)
        }
    }
}

extension OperatorView {
    /// As `Operator.summary` says it: `roles=… grants=… partners=…`.
    var summary: String {
        "roles=\(roles.isEmpty ? "-" : roles.joined(separator: ",")) grants=\(grants.isEmpty ? "-" : grants.joined(separator: ",")) partners=\(partners.map { $0.joined(separator: ",") } ?? "*")"
    }
}
