import Testing

@testable import KnoxProxy

/// What the request log keeps of the caller's headers: credentials never, by name or by content.
@Suite struct HeaderRedactionTests {
    @Test func markersAreFoundAnywhereInAValue() {
        for value in [
            "tk_live_abc", "Bearer kc_test_xyz", "token=kcr_live_123;", "x kc_live_", "tk_test_",
            "prefix-kcr_test_suffix",
        ] {
            #expect(HeaderRules.holdsKnoxCallCredential(value), "\(value)")
        }
        for value in ["", "tk_liv", "tk_live", "kc-live_x", "TK_LIVE_abc", "kcx_live_", "ordinary value", "tk_prod_x"] {
            #expect(!HeaderRules.holdsKnoxCallCredential(value), "\(value)")
        }
    }

    @Test func loggedHeadersAreRedacted() throws {
        let head = try #require(
            try WireFixtures.request(
                "GET / HTTP/1.1\r\nAuthorization: Bearer upstream-own-token\r\nX-Custom: carries kcr_live_SECRETSECRET inside\r\n"
                    + "x-knoxcall-key: whatever\r\nX-Access:   AKEABCDEF123456_secretpart  \r\nAccept: application/json\r\n\r\n"
            ))
        let text = HeaderRules.loggable(head.fields)
        #expect(
            text
                == "Authorization: ‹redacted›\nX-Custom: ‹redacted›\nx-knoxcall-key: ‹redacted›\nX-Access: ‹redacted›\n"
                + "Accept: application/json\n")
    }
}

@Suite struct LoggedHeaderBoundsTests {
    /// The log keeps the first 4 KiB of the caller's header lines, redactions included, whatever their number.
    @Test func loggedHeadersAreCutAt4KiB() throws {
        let lines = (0..<200).map { "X-Field-\($0): value-\($0)-" + String(repeating: "z", count: 20) }
        let head = try #require(
            try WireFixtures.request(
                "GET / HTTP/1.1\r\n" + lines.joined(separator: "\r\n") + "\r\nx-knoxcall-key: tk_live_a_b\r\n\r\n"))
        let text = HeaderRules.loggable(head.fields)
        let full = lines.map { $0 + "\n" }.joined()
        #expect(text.utf8.count == 4096)
        #expect(text == String(decoding: Array(full.utf8).prefix(4096), as: UTF8.self))
        let short = try #require(try WireFixtures.request("GET / HTTP/1.1\r\nA: 1\r\nCookie: c\r\n\r\n"))
        #expect(HeaderRules.loggable(short.fields) == "A: 1\nCookie: ‹redacted›\n")
        let none = try #require(try WireFixtures.request("GET / HTTP/1.1\r\n\r\n"))
        #expect(HeaderRules.loggable(none.fields) == "")
    }
}
