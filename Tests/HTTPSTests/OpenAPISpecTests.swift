import ClaimGateTesting
import Foundation
@testable import HTTPS
import Testing

/// `docs/openapi.yaml` validates (stock `openapi-spec-validator` from PyPI, in a venv this test
/// creates) and describes exactly the routes `PartnerRoutes` serves, with the answers every
/// route can give.
@Suite struct OpenAPISpecTests {
    static let spec = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/openapi.yaml").path

    /// Validates the spec and prints, as JSON, each path's operations with their response codes,
    /// and the component responses with their media types and headers.
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
        components = {name: {"content": sorted(r.get("content", {}).keys()), "headers": sorted(r.get("headers", {}).keys())}
                      for name, r in spec.get("components", {}).get("responses", {}).items()}
        print(json.dumps({"operations": ops, "responses": components}))
        """

    struct Described: Decodable {
        let operations: [String: [String]]
        let responses: [String: Component]
        struct Component: Decodable { let content: [String]; let headers: [String] }
    }

    @Test(.timeLimit(.minutes(10)))
    func theSpecValidatesAndMatchesTheRoutes() async throws {
        let dir = TemporaryDirectory("claimgate-openapi")
        let venv = dir.file("venv")
        let made = try await Shell.runDetached(["python3", "-m", "venv", venv])
        try #require(made.succeeded, "python3 -m venv failed (scripts/install-deps installs python3-venv): \(made.stderr)")
        let pip = try await Shell.runDetached([venv + "/bin/pip", "install", "--disable-pip-version-check", "--quiet",
                                               "--timeout", "60", "openapi-spec-validator"])
        try #require(pip.succeeded, """
            pip could not install openapi-spec-validator from PyPI, so docs/openapi.yaml was NOT validated. \
            This test needs PyPI. pip said: \(pip.stderr.suffix(1_500))
            """)
        let run = try await Shell.runDetached([venv + "/bin/python", "-c", Self.script, Self.spec])
        try #require(run.succeeded, "docs/openapi.yaml does not validate: \(run.stderr.suffix(3_000))")
        let described = try JSONDecoder().decode(Described.self, from: run.stdoutData)

        // Exactly the routes served, `:id` spelled `{id}`.
        let served = Set(PartnerRoutes.endpoints.map {
            "\($0.method.rawValue) " + $0.path.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
                .reduce("") { $0 + "/" + $1 }
        })
        #expect(Set(described.operations.keys) == served)

        // What every route can answer: 403 (the session rule) and 503 (audit-unavailable).
        for (operation, codes) in described.operations {
            #expect(codes.contains("403"), "\(operation)")
            #expect(codes.contains("503"), "\(operation)")
        }
        #expect(described.operations["GET /v1/bundles/{id}"]?.contains("416") == true)
        #expect(described.operations["GET /v1/bundles/{id}"]?.contains("206") == true)
        #expect(described.operations["POST /v1/inbox"]?.contains("413") == true)
        #expect(described.operations["POST /v1/inbox"]?.contains("415") == true)
        for operation in ["GET /v1/bundles/{id}", "HEAD /v1/bundles/{id}", "GET /v1/outbox/{name}", "HEAD /v1/outbox/{name}"] {
            #expect(described.operations[operation]?.contains("304") == true, "\(operation)")
            #expect(described.operations[operation]?.contains("404") == true, "\(operation)")
        }
        #expect(described.responses["NotModified"]?.headers == ["ETag"])

        // Unknown routes and methods: problem documents, 405 with `Allow`.
        #expect(described.responses["NotFound"]?.content == ["application/problem+json"])
        #expect(described.responses["MethodNotAllowed"]?.content == ["application/problem+json"])
        #expect(described.responses["MethodNotAllowed"]?.headers == ["Allow"])
        #expect(described.responses["Unavailable"]?.headers == ["Retry-After"])
    }
}
