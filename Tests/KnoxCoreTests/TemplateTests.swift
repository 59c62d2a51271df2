import Testing

@testable import KnoxCore

@Suite struct TemplateTests {
    @Test func findsNameAndIdReferences() throws {
        let id = "A1B2C3D4-E5F6-7890-ABCD-EF1234567890"
        let found = try SecretTemplate.scan(
            "Bearer {{secret:stripe key}} and {{ secret_id : \(id) }} {{var:x}} {{other}}")
        #expect(found.map(\.reference) == [.name("STRIPE_KEY"), .id(id.lowercased())])
    }

    @Test func rendersInPlace() throws {
        let out = try SecretTemplate.render("a {{secret:A}} b {{secret:B}} c") { ref in
            ref == .name("A") ? "1" : "22"
        }
        #expect(out == "a 1 b 22 c")
        #expect(try SecretTemplate.render("no placeholders {{var:q}}") { _ in "x" } == "no placeholders {{var:q}}")
    }

    @Test(arguments: ["{{secret_id:not-a-uuid}}", "{{secret:}}", "{{secret:bad}name}}", "{{secret:a/b}}"])
    func reportsMalformed(_ text: String) {
        #expect(throws: SecretTemplate.Malformed.self) { try SecretTemplate.scan(text) }
    }

    @Test func normalizesNames() {
        #expect(SecretName.normalize("Stripe API Key") == "STRIPE_API_KEY")
        #expect(SecretName.normalize("  db.password-2 ") == "DB.PASSWORD-2")
        #expect(SecretName.normalize("") == nil)
        #expect(SecretName.normalize("a}b") == nil)
        #expect(SecretName.normalize("ünï") == nil)
        #expect(SecretName.normalize(String(repeating: "a", count: 129)) == nil)
    }

    @Test func slugs() {
        #expect(Slug.derive(from: "Payment Gateway") == "payment-gateway")
        #expect(Slug.derive(from: "  Ünïcode -- API!! v2 ") == "n-code-api-v2")
        #expect(Slug.derive(from: "!!!") == "route")
        #expect(Slug.derive(from: String(repeating: "ab ", count: 40)).count <= 63)
        #expect(Slug.isValid("a-b-1"))
        #expect(!Slug.isValid("A"))
        #expect(!Slug.isValid(String(repeating: "a", count: 64)))
        #expect(Slug.numbered(String(repeating: "a", count: 63), 12).count == 63)
    }
}
