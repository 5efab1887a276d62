import ClaimGateCore
import ClaimGateTesting
import Foundation
@testable import OperatorAPI
import Testing

/// `docs/operator-api.yaml` validates (stock `openapi-spec-validator` from PyPI, in a venv this
/// test creates) and describes exactly the routes `OperatorRoutes` serves; every error code has
/// one HTTP status and the command line's exit status. (Real responses of a running server are
/// validated against the spec by `OperatorAPIEndToEndTests.responsesMatchTheSpec`.)
@Suite struct OperatorAPISpecTests {
    static let spec = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/operator-api.yaml").path

    static let script = """
        import json, sys
        from openapi_spec_validator import validate
        from openapi_spec_validator.readers import read_from_filename
        spec, _ = read_from_filename(sys.argv[1])
        validate(spec)
        ops = {}
        for path, item in spec["paths"].items():
            for method, op in item.items():
                if method in ("get", "put", "post", "delete", "options", "head", "patch", "trace"):
                    ops[method.upper() + " " + path] = sorted(op.get("responses", {}).keys())
        print(json.dumps({"operations": ops, "codes": spec["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]}))
        """

    struct Described: Decodable {
        let operations: [String: [String]]
        let codes: [String]
    }

    @Test(.timeLimit(.minutes(10)))
    func theSpecValidatesAndDescribesExactlyTheRoutesServed() async throws {
        let dir = TemporaryDirectory("claimgate-operator-openapi")
        let venv = dir.file("venv")
        let made = try await Shell.runDetached(["python3", "-m", "venv", venv])
        try #require(made.succeeded, "python3 -m venv failed (scripts/install-deps installs python3-venv): \(made.stderr)")
        let pip = try await Shell.runDetached([venv + "/bin/pip", "install", "--disable-pip-version-check", "--quiet",
                                               "--timeout", "60", "openapi-spec-validator"])
        try #require(pip.succeeded, "pip could not install openapi-spec-validator from PyPI, so docs/operator-api.yaml was NOT validated: \(pip.stderr.suffix(1_500))")
        let run = try await Shell.runDetached([venv + "/bin/python", "-c", Self.script, Self.spec])
        try #require(run.succeeded, "docs/operator-api.yaml does not validate: \(run.stderr.suffix(3_000))")
        let described = try JSONDecoder().decode(Described.self, from: run.stdoutData)

        let served = Set(OperatorRoutes.endpoints.map {
            "\($0.method.rawValue) " + $0.path.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
                .reduce("") { $0 + "/" + $1 }
        })
        #expect(Set(described.operations.keys) == served)
        // Every route can be refused by the policy (403) and fail closed when the trail cannot be written (503).
        for (operation, codes) in described.operations {
            #expect(codes.contains("403"), "\(operation)")
            #expect(codes.contains("503"), "\(operation)")
        }
        // The problem document's codes are exactly the command line's.
        #expect(Set(described.codes) == Set(ClaimGateError.Code.allCases.map(\.rawValue)))
    }

    @Test func everyErrorCodeHasOneStatusAndTheCommandLinesExitStatus() {
        for code in ClaimGateError.Code.allCases {
            let response = OperatorProblem.response(for: ClaimGateError(code, "x"))
            #expect(response.status == OperatorProblem.status(for: code))
            #expect((400...599).contains(response.status.code), "\(code)")
        }
        #expect(OperatorProblem.status(for: .notPermitted) == .forbidden)
        #expect(ClaimGateError.Code.notPermitted.exitStatus == 77)
        #expect(OperatorProblem.response(for: ClaimGateError(.auditUnavailable, "x")).headers[.retryAfter] == "30")
    }
}
