import NIOHTTP1
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

    @Test func loggedHeadersAreRedacted() {
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer upstream-own-token")
        headers.add(name: "X-Custom", value: "carries kcr_live_SECRETSECRET inside")
        headers.add(name: "x-knoxcall-key", value: "whatever")
        headers.add(name: "Accept", value: "application/json")
        let text = HeaderRules.loggable(headers)
        #expect(text == "Authorization: ‹redacted›\nX-Custom: ‹redacted›\nx-knoxcall-key: ‹redacted›\nAccept: application/json\n")
    }
}
