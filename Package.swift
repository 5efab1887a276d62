// swift-tools-version:6.0
import Foundation
import PackageDescription

let package = Package(
    name: "ClaimGate",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "claimgate", targets: ["claimgate"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.30.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.0"),
    ],
    targets: [
        // Domain: agreements, policies, manifests, errors, clock. No C, no NIO.
        .target(name: "ClaimGateCore"),

        // Thin system-library shims: modulemap + shim.h, nothing else.
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]),
        .systemLibrary(name: "CLibSSH", pkgConfig: "libssh",
                       providers: [.apt(["libssh-dev"]), .brew(["libssh"])]),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive",
                       providers: [.apt(["libarchive-dev"]), .brew(["libarchive"])]),

        // Capabilities.
        .target(name: "Envelope", dependencies: ["ClaimGateCore", "COpenSSL"]),
        .target(name: "Packaging", dependencies: ["ClaimGateCore", "CArchive", "Envelope"]),
        .target(name: "SFTP", dependencies: [
            "ClaimGateCore", "CLibSSH",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .target(name: "HTTPS", dependencies: [
            "ClaimGateCore",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The append-only, hash-chained transfer log: canonical encoding, checkpoints, verifier.
        .target(name: "Audit", dependencies: ["ClaimGateCore", "Envelope"]),
        .target(name: "Store", dependencies: [
            "ClaimGateCore", "Audit",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),

        // The transport-neutral partner session: the one session rule, bundle access, download
        // start, upload staging and receipts both transports talk to (and nothing else).
        .target(name: "Exchange", dependencies: [
            "ClaimGateCore", "Envelope", "Store",
            .product(name: "Logging", package: "swift-log"),
        ]),

        // The gateway's use cases, which every front end (the CLI today) calls: sealing and
        // sending, inbound processing, deliveries, partner lifecycle, purge, the audit trail,
        // reports and doctor. No front end touches the store.
        .target(name: "Operations", dependencies: [
            "ClaimGateCore", "Envelope", "Packaging", "SFTP", "Store", "HTTPS", "Audit", "Exchange",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            .product(name: "HummingbirdOTP", package: "hummingbird-auth"),
        ]),

        // The operator API: JSON over mutual TLS (operator CA only), a front end of Operations.
        .target(name: "OperatorAPI", dependencies: [
            "ClaimGateCore", "Operations",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),

        // The web console (`serve --console`): server-rendered pages in Simplified Chinese and
        // English over TLS, password + TOTP sessions, CSRF and a strict CSP; a front end of
        // Operations.
        .target(name: "Console", dependencies: [
            "ClaimGateCore", "Operations",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], resources: [.copy("Resources")]),

        // The command line's client of the operator API (remote mode): mutual TLS with the
        // operator's certificate, problem documents back into the CLI's errors.
        .target(name: "OperatorClient", dependencies: [
            "ClaimGateCore",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),

        // Composition root (the services `serve` runs, wired together) and the command-line tool.
        .target(name: "ClaimGateApp", dependencies: [
            "ClaimGateCore", "Operations", "SFTP", "HTTPS", "Exchange", "OperatorAPI", "Console",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Development tools: the dev PKI and the demo (never part of a gateway's own work).
        .target(name: "DevTools", dependencies: [
            "ClaimGateApp", "Operations", "ClaimGateCore", "Envelope", "Exchange", "SFTP", "Audit",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "claimgate", dependencies: [
            "ClaimGateApp", "Operations", "ClaimGateCore", "Envelope", "Audit", "DevTools", "OperatorClient",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Tests: one target per module, plus end-to-end tests with real peers.
        .target(name: "ClaimGateTesting", dependencies: ["ClaimGateCore", "ClaimGateApp", "Operations", "DevTools", "Envelope", "Store"],
                path: "Tests/ClaimGateTesting"),
        .testTarget(name: "ClaimGateCoreTests", dependencies: ["ClaimGateCore", "ClaimGateTesting"]),
        .testTarget(name: "EnvelopeTests", dependencies: ["Envelope", "ClaimGateTesting"]),
        .testTarget(name: "AuditTests", dependencies: ["Audit", "Envelope", "ClaimGateTesting"]),
        .testTarget(name: "PackagingTests", dependencies: ["Packaging", "ClaimGateTesting"]),
        .testTarget(name: "SFTPTests", dependencies: [
            "SFTP", "ClaimGateCore", "ClaimGateTesting", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "HTTPSTests", dependencies: [
            "HTTPS", "ClaimGateCore", "ClaimGateTesting", "Envelope",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .testTarget(name: "ClaimGateAppTests", dependencies: [
            "ClaimGateApp", "Operations", "Envelope", "Store", "Exchange", "DevTools", "Audit", "ClaimGateTesting",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "StoreTests", dependencies: [
            "Store", "Audit", "ClaimGateCore", "ClaimGateTesting", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "OperatorAPITests", dependencies: [
            "OperatorAPI", "ClaimGateCore", "ClaimGateTesting", .product(name: "Hummingbird", package: "hummingbird"),
        ]),
        .testTarget(name: "ConsoleTests", dependencies: [
            "Console", "Operations", "ClaimGateCore", "ClaimGateTesting",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // Operations: to act as an operator (four eyes) where the CLI acts as the shell.
        // Browser/: the console's Selenium scenarios (Python), run by ConsoleBrowserEndToEndTests.
        .testTarget(name: "EndToEndTests", dependencies: ["ClaimGateTesting", "claimgate", "Operations"],
                    exclude: ["Browser"]),
    ],
    swiftLanguageModes: [.v6]
)

// The streaming readers' libFuzzer target (CMS and tar) links only with -sanitize=fuzzer, so it exists only
// when asked for: `scripts/fuzz` sets CLAIMGATE_FUZZ.
if ProcessInfo.processInfo.environment["CLAIMGATE_FUZZ"] != nil {
    package.targets.append(.executableTarget(name: "StreamingReaderFuzz", dependencies: ["Envelope", "Packaging"]))
}
