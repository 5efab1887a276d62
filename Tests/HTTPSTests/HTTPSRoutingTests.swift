import ClaimGateCore
import ClaimGateTesting
import Foundation
import Testing

/// What the partner API answers outside its four routes: an unknown path is `404`, a known path
/// with a method it does not serve `405` with `Allow`, both as RFC 9457 problem documents, and
/// neither reaches the exchange beyond the caller's session. Driven by curl and, for the bytes on
/// the wire, a raw TLS socket (`openssl s_client`).
@Suite struct HTTPSRoutingTests {
    static let partner = PartnerAPIFrontEnd.partner

    struct Case: Sendable, CustomStringConvertible {
        let method: String
        let path: String
        let status: Int
        let allow: String?
        var description: String { "\(method) \(path)" }
    }

    static let bundle = "0b6f3f2e-5a4c-4d0e-9b1f-6a2d9c0e8f11"

    static let cases: [Case] = [
        Case(method: "GET", path: "/", status: 404, allow: nil),
        Case(method: "GET", path: "/v1", status: 404, allow: nil),
        Case(method: "GET", path: "/v2/bundles", status: 404, allow: nil),
        Case(method: "GET", path: "/v1/bundles/\(bundle)/receipt/extra", status: 404, allow: nil),
        Case(method: "PUT", path: "/v1/nowhere", status: 404, allow: nil),
        Case(method: "POST", path: "/v1/bundles", status: 405, allow: "GET, HEAD"),
        Case(method: "DELETE", path: "/v1/bundles", status: 405, allow: "GET, HEAD"),
        Case(method: "DELETE", path: "/v1/bundles/\(bundle)", status: 405, allow: "GET, HEAD"),
        Case(method: "PUT", path: "/v1/bundles/\(bundle)", status: 405, allow: "GET, HEAD"),
        Case(method: "GET", path: "/v1/bundles/\(bundle)/receipt", status: 405, allow: "POST"),
        Case(method: "GET", path: "/v1/inbox", status: 405, allow: "POST"),
        Case(method: "PATCH", path: "/v1/inbox", status: 405, allow: "POST"),
        Case(method: "OPTIONS", path: "/v1/bundles", status: 405, allow: "GET, HEAD"),
        Case(method: "TRACE", path: "/v1/bundles/\(bundle)", status: 405, allow: "GET, HEAD"),
        Case(method: "PROPFIND", path: "/v1/inbox", status: 405, allow: "POST"),
    ]

    @Test(arguments: cases)
    func anUnknownRouteOrMethodIsAProblemDocument(_ c: Case) async throws {
        let f = try PartnerAPIFrontEnd()
        try await f.serve { port in
            let r = try await f.curl(["-X", c.method, "https://127.0.0.1:\(port)\(c.path)"])
            try #require(r.succeeded, "\(r.stderr)")
            #expect(try f.status() == c.status)
            let headers = try f.headers()
            #expect(headers["content-type"] == "application/problem+json", "\(headers)")
            #expect(headers["allow"] == c.allow, "\(headers)")
            let problem = try HTTPSFrontEndTests.problem(r)
            #expect(problem.status == c.status)
            #expect(problem.type == "about:blank")
            #expect(problem.title == (c.status == 404 ? "Not Found" : "Method Not Allowed"))
            #expect(!problem.detail.isEmpty)
        }
        // Nothing about bundles was asked of the exchange, and nothing refused on its behalf.
        #expect(!f.exchange.calls.contains { if case .startDownload = $0 { true } else { false } })
        #expect(!f.exchange.calls.contains(.listOutbox(Self.partner)))
        #expect(f.exchange.refusals.isEmpty, "\(f.exchange.refusals)")
    }

    /// A caller without a certificate the exchange accepts learns nothing about which routes
    /// exist: the handshake already fails for a stranger, and a refused session gets `403` on an
    /// unknown route too, never `404`/`405`.
    @Test func aRefusedCallerGetsForbiddenOnUnknownRoutesToo() async throws {
        let f = try PartnerAPIFrontEnd()
        f.exchange.sessionRefusal = Refusal(.partnerSuspended, "refused by the test")
        try await f.serve { port in
            for (method, path) in [("GET", "/v1/nowhere"), ("DELETE", "/v1/bundles/\(Self.bundle)")] {
                let r = try await f.curl(["-X", method, "https://127.0.0.1:\(port)\(path)"])
                #expect(try f.status() == 403, "\(method) \(path)")
                #expect(try f.headers()["allow"] == nil)
                #expect(try HTTPSFrontEndTests.problem(r).status == 403)
            }
        }
        #expect(f.exchange.refusals.map(\.reason) == [.partnerSuspended, .partnerSuspended])
        #expect(f.exchange.refusals.allSatisfy { $0.action == .loginRefused })
    }

    /// `HEAD` is served where `GET` is (`HTTPSConditionalTests`); elsewhere it is `405` with the
    /// methods served, and no body follows (HTTP forbids one after a HEAD).
    @Test func headWithoutGetIsNotAllowed() async throws {
        let f = try PartnerAPIFrontEnd()
        try await f.serve { port in
            for path in ["/v1/inbox", "/v1/bundles/\(Self.bundle)/receipt"] {
                let r = try await f.curl(["-I", "https://127.0.0.1:\(port)\(path)"])
                try #require(r.succeeded, "\(r.stderr)")
                #expect(try f.status() == 405, "\(path)")
                #expect(try f.headers()["allow"] == "POST", "\(path)")
            }
        }
        #expect(!f.exchange.calls.contains { if case .beginUpload = $0 { true } else { false } })
        #expect(!f.exchange.calls.contains { if case .acknowledge = $0 { true } else { false } })
    }

    /// A method token HTTP/1.1's parser does not know (`FROB`) never reaches the routes: the
    /// connection's parser answers `400` and closes. Nothing is asked of the exchange beyond the
    /// handshake.
    @Test func anUnknownMethodTokenIsRefusedByTheParser() async throws {
        let f = try PartnerAPIFrontEnd()
        try await f.serve { port in
            let raw = try await f.rawTLS(port: port, "FROB /v1/bundles HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let text = String(decoding: raw, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 400"), "\(text.prefix(300))")
        }
        #expect(!f.exchange.calls.contains { if case .openSession = $0 { true } else { false } })
    }
}
