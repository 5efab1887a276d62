import ClaimGateCore
import ClaimGateTesting
import Foundation
import Testing

/// One access line per HTTPS request: the partner, the route (never the partner's own path),
/// the bundle, the bytes (sent, or received for an upload), the status and the duration; a
/// download's line comes when its body has been sent.
@Suite struct HTTPSAccessLogTests {
    static let partner = PartnerAPIFrontEnd.partner

    @Test func everyRequestIsOneAccessRecord() async throws {
        let f = try PartnerAPIFrontEnd()
        let bytes = HTTPSFrontEndTests.contents(1_500_000)   // streamed, not sent from memory
        let e = try f.exchange.addBundle(for: Self.partner, contents: bytes)
        try await f.serve { port in
            let base = "https://127.0.0.1:\(port)"
            try #require(try await f.curl(["\(base)/v1/bundles"]).succeeded)
            try #require(try await f.curl(["-o", "/dev/null", "\(base)/v1/bundles/\(e.bundleID)"]).succeeded)
            _ = try await f.curl(["-o", "/dev/null", "\(base)/v1/bundles/../../etc/passwd%0a"])
            _ = try await f.curl(["-o", "/dev/null", "-X", "DELETE", "\(base)/v1/bundles/\(e.bundleID)"])
            #expect(f.exchange.waitForAccess { $0.operation == .download } != nil)
        }
        let all = f.exchange.accesses
        let list = try #require(all.first { $0.operation == .list })
        #expect(list.partner == Self.partner)
        #expect(list.status == "200")
        #expect(list.request == "GET /v1/bundles")
        #expect(list.bytes > 0)
        let download = try #require(all.first { $0.operation == .download && $0.status == "200" })
        #expect(download.bundleID == e.bundleID)
        #expect(download.bytes == Int64(bytes.count))
        #expect(download.request == "GET /v1/bundles/:id")
        #expect(download.transport == .https)
        #expect(download.clientAddress.hasPrefix("127.0.0.1:"))
        let wrongMethod = try #require(all.first { $0.status == "405" })
        #expect(wrongMethod.request == "DELETE /v1/bundles/:id")
        // A path no route serves is named as such, never in the partner's spelling.
        #expect(all.contains { $0.status == "404" && $0.request == "GET (other)" }, "\(all)")
        #expect(!all.contains { $0.request.contains("passwd") })
        #expect(all.count == 4, "\(all)")
    }
}
