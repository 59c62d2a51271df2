import Testing

@testable import KnoxCore

@Suite struct KeyAndPermissionTests {
    @Test func generatedKeysParseBack() throws {
        for kind in ApiKey.Kind.allCases {
            let key = KeyCredential.generate(kind)
            let parsed = try #require(KeyCredential.parse(key.text))
            #expect(parsed == key)
            #expect(key.secret.count == 43)
            #expect(KeyCredential.claimedMode(of: key.text) == kind.mode)
            #expect(key.text.hasPrefix(key.publicPrefix + "_"))
        }
        #expect(KeyCredential.generate(.standard) != KeyCredential.generate(.standard))
    }

    @Test(arguments: [
        "", "tk_live_", "tk_live_abc", "tk_live_abc_", "tk_live__x", "tk_prod_a_b", "AKE_x", "tk_live_a_b_c",
        "tk_live_a-b_c",
    ])
    func refusesMalformedKeys(_ text: String) {
        #expect(KeyCredential.parse(text) == nil)
    }

    @Test func claimedModes() {
        #expect(KeyCredential.claimedMode(of: "tk_test_x_y") == .test)
        #expect(KeyCredential.claimedMode(of: "kc_live_x") == .live)
        #expect(KeyCredential.claimedMode(of: "AKEabc_x") == .live)
        #expect(KeyCredential.claimedMode(of: "garbage") == nil)
    }

    @Test func permissionWildcards() {
        let editor = PermissionSet(Role.editor.grants)
        #expect(editor.allows("routes:write"))
        #expect(editor.allows("api_keys:read"))
        #expect(!editor.allows("api_keys:write"))
        #expect(PermissionSet(Role.readOnly.grants).firstUncovered([Permission("routes", "write")]) != nil)
        #expect(PermissionSet.all.firstUncovered(Role.admin.grants) == nil)
        // A narrower grant does not cover a wildcard request.
        #expect(PermissionSet(["routes:read"]).firstUncovered([Permission("*", "read")]) != nil)
        #expect(Permission("Routes:read") == nil)
        #expect(Permission("routes") == nil)
    }

    @Test func rolesAreFindable() {
        #expect(Role.seeded(matching: "read-only") == Role.readOnly)
        #expect(Role.seeded(matching: Role.invoke.id) == Role.invoke)
        #expect(Role.seeded(matching: "Key — Editor") == Role.editor)
        #expect(Role.seeded(matching: "owner") == nil)
    }
}
