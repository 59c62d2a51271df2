import Testing

@testable import KnoxProxy

/// What the request log keeps of the caller's headers: credentials never, by name or by content.
@Suite struct HeaderRedactionTests {
    @Test func markersAreFoundAnywhereInAValue() {
        for value in [
            "tk_live_abc", "Bearer kc_test_xyz", "token=kcr_live_123;", "x kc_live_", "tk_test_", "prefix-kcr_test_suffix",
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
                    + "x-knoxcall-key: whatever\r\nX-Access:   AKEABCDEF123456_secretpart  \r\nAccept: application/json\r\n\r\n"))
        let text = HeaderRules.loggable(head.fields)
        #expect(
            text
                == "Authorization: ‹redacted›\nX-Custom: ‹redacted›\nx-knoxcall-key: ‹redacted›\nX-Access: ‹redacted›\n"
                + "Accept: application/json\n")
    }
}
