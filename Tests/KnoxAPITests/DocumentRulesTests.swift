import Foundation
import KnoxCore
import Testing

@testable import KnoxAPI
@testable import KnoxEngine

/// The OpenAPI document's patterns and the server's field rules agree (issue 21): for many generated values, a value
/// the document allows is accepted or refused with an `error.reason` (a rule a schema cannot state), and a value the
/// document forbids is refused. schemathesis checks the same from outside with its own generator; this one aims at
/// the edges (spaces around values, controls, invisible characters, CR LF, lengths, IP and URL syntax).
@Suite struct DocumentRulesTests {
    /// The document's pattern, read as ECMA-262/ICU reads it (Python's `re` reads these the same).
    static func matches(_ pattern: String, _ value: String) -> Bool {
        guard let regex = try? NSRegularExpression(pattern: pattern) else {
            Issue.record("pattern does not compile: \(pattern)")
            return false
        }
        let range = NSRange(value.startIndex..<value.endIndex, in: value)
        return regex.firstMatch(in: value, range: range) != nil
    }

    /// The server's verdict on a value: accepted, refused for a stated reason, or refused as malformed.
    enum Verdict: Equatable {
        case accepted
        case refusedWithReason
        case malformed
    }

    static func verdict(_ check: () throws -> Void) -> Verdict {
        do {
            try check()
            return .accepted
        } catch let error as ApiError {
            return error.reason == nil ? .malformed : .refusedWithReason
        } catch {
            return .malformed
        }
    }

    /// A small deterministic generator (xorshift), so a failure names a value that reproduces.
    struct Values {
        var state: UInt64

        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }

        /// `count` values made of 0...`maxPieces` pieces drawn from `pieces`.
        mutating func make(_ count: Int, from pieces: [String], maxPieces: Int) -> [String] {
            (0..<count).map { _ in
                let n = Int(next() % UInt64(maxPieces + 1))
                return (0..<n).map { _ in pieces[Int(next() % UInt64(pieces.count))] }.joined()
            }
        }
    }

    static let textPieces = [
        "a", "Z", "0", "-", "_", ".", " ", "\t", "\n", "\r", "\r\n", "\u{0}", "\u{1F}", "\u{7F}", "é", "e\u{301}",
        "\u{200B}",
        "\u{202E}", "\u{2066}", "\u{FEFF}", "\u{061C}", "🏻", "😀", "/", "{", "}", "#",
    ]

    func expectAgreement(
        _ name: String, pattern: String, maxLength: Int?, values: [String], server: (String) throws -> Void
    ) {
        var checked = 0
        for value in values {
            let documented =
                Self.matches(pattern, value) && (maxLength.map { value.unicodeScalars.count <= $0 } ?? true)
            let verdict = Self.verdict { try server(value) }
            if documented {
                #expect(
                    verdict != .malformed,
                    "\(name): the document allows \(value.debugDescription), the server refuses it")
            } else {
                #expect(
                    verdict != .accepted, "\(name): the document forbids \(value.debugDescription), the server takes it"
                )
            }
            checked += 1
        }
        #expect(checked == values.count)
    }

    static func reader(_ value: String) throws -> FieldReader { try FieldReader(["v": .string(value)], allowed: ["v"]) }

    @Test func namesAndTexts() throws {
        var g = Values(state: 0x9E37_79B9_7F4A_7C15)
        let values =
            g.make(4000, from: Self.textPieces, maxPieces: 6) + [
                "", " ", "\r\n", "a\r\n", " a ", "\ta\t", String(repeating: "a", count: 200),
                String(repeating: "a", count: 201),
                String(repeating: "é", count: 200) + " ", "a\u{200B}b",
            ]
        expectAgreement("name", pattern: TextRule.text, maxLength: 200, values: values) {
            _ = try Self.reader($0).requiredString("v", maxLength: 200)
        }
    }

    @Test func identifiers() throws {
        var g = Values(state: 0xD1B5_4A32_D192_ED03)
        let pieces = Self.textPieces + ["abc", "x-1", "A_B", "my.secret", "prod", "--"]
        let values =
            g.make(4000, from: pieces, maxPieces: 5) + [
                String(repeating: "a", count: 63), String(repeating: "a", count: 64),
            ]
        let environment = S.environmentName().objectValue?["pattern"]?.stringValue ?? ""
        expectAgreement("environment name", pattern: environment, maxLength: 63, values: values) {
            let name = try Self.reader($0).requiredString("v", maxLength: 63)
            guard Environment.isValidName(name) else { throw ApiError.invalid("v", "not an environment name") }
        }
        expectAgreement("slug", pattern: TextRule.token("[a-z0-9-]{1,63}"), maxLength: 63, values: values) {
            guard let slug = try Self.reader($0).text("v", maxLength: 63).value, Slug.isValid(slug) else {
                throw ApiError.invalid("v", "not a slug")
            }
        }
        let secretName = S.secretName().objectValue?["pattern"]?.stringValue ?? ""
        expectAgreement("secret name", pattern: secretName, maxLength: 200, values: values) {
            _ = try Engine.secretName(try Self.reader($0).requiredString("v", maxLength: 200))
        }
    }

    @Test func addressesAndRanges() throws {
        var g = Values(state: 0x1234_5678_9ABC_DEF1)
        let pieces = [
            "1", "10", "255", "256", "0", "00", ".", ":", "::", "/", "8", "24", "32", "33", "64", "128", "ffff", "db8",
            "g", " ", "%",
        ]
        let values =
            g.make(6000, from: pieces, maxPieces: 9) + [
                "10.0.0.0/8", "10.0.0.1/8", "::1", "::ffff:1.2.3.4", "1::1.2.3.4", "2001:db8::/32", " 10.1.2.3 ",
                "1.2.3.4/33",
                "fe80::1%eth0", "::/0", "0.0.0.0/0", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1::2::3",
                // Found by schemathesis: a lone ":" before an IPv4 part.
                ":248.155.71.22\r\r", ":1.2.3.4", "::1.2.3.4", "1::2:1.2.3.4", "1:2::3:4:1.2.3.4",
                "1:2:3:4:5:6:1.2.3.4",
                "1:2:3:4:5:6:7:1.2.3.4", "1:2:3:4:5::1.2.3.4", "1:2:3:4:5:6::1.2.3.4", "::1:2:3:4:5:1.2.3.4", "1::",
                "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8::",
            ]
        let pattern = S.ipRange().objectValue?["pattern"]?.stringValue ?? ""
        expectAgreement("client range", pattern: pattern, maxLength: nil, values: values) {
            _ = try RouteSettingChecks.ipRange($0, field: "v")
        }
    }

    @Test func upstreamURLs() throws {
        var g = Values(state: 0x0F0F_1234_ABCD_9876)
        let pieces = [
            "a", "b-c", "_x", "-", ".", "..", "[", "]", "::1", "1.2.3.4", ":", "8080", "0", "65536", "/", "%", "2F",
            "%zz", "?",
            "#", "@", "é", "~", "<", " ", "🏻",
        ]
        let values =
            g.make(3000, from: pieces, maxPieces: 6).flatMap { ["https://" + $0, "http://" + $0, "HtTp://" + $0] } + [
                "https://example.com", "https://example.com/v1/", "HTTPS://A.B:0443/x", "https://[::1]:8443/a",
                "https://a@b",
                "https://a/?q", "https://-a.com", " https://a.b ", "https://a/é", "https://a/%2f", "https://a/%2",
                "ftp://a",
                "https://[::ffff:1.2.3.4]/", "https://a:",
                // Found by schemathesis: the length counts the spaces around the URL too.
                String(repeating: " ", count: 10) + "https://a.b/" + String(repeating: "x", count: 2030),
                "https://a.b/" + String(repeating: "x", count: 2036),
            ]
        let pattern =
            Schemas.settingsProperties.first { $0.key == "target_base_url" }?.value["pattern"]?.stringValue ?? ""
        expectAgreement("target_base_url", pattern: pattern, maxLength: 2048, values: values) {
            _ = try RouteSettingChecks.upstreamURL($0, field: "v")
        }
        let loopback = [
            "http://127.0.0.1/cb", "http://localhost:8080/cb", "http://[::1]/", "http://example.com/cb",
            "http://127.0.0.2/",
        ]
        expectAgreement("redirect_uris", pattern: TextRule.redirectURI, maxLength: 2000, values: values + loopback) {
            uri in
            _ = try Engine.redirectURIs(try FieldReader(["redirect_uris": [.string(uri)]], allowed: ["redirect_uris"]))
        }
    }

    @Test func injectedHeaders() throws {
        var g = Values(state: 0xABCD_EF01_2345_6789)
        let namePieces = ["X", "-", "Key", "host", "Via", "x-knox", "a", " ", ":", "é", "_", "~"]
        let names = g.make(2000, from: namePieces, maxPieces: 4)
        let valuePieces = ["v", " ", "\t", "\r", "\n", "\u{0}", "é", "{{secret:A}}", "{{", "}}"]
        let values = g.make(2000, from: valuePieces, maxPieces: 4)
        let schema = S.headers()
        let namePattern = schema["propertyNames"]?["pattern"]?.stringValue ?? ""
        let valuePattern = schema["additionalProperties"]?["pattern"]?.stringValue ?? ""
        for (name, value) in zip(names, values) {
            let documented = Self.matches(namePattern, name) && Self.matches(valuePattern, value)
            let verdict = Self.verdict { _ = try RouteSettingChecks.headers([name: .string(value)], field: "h") }
            if documented {
                #expect(
                    verdict != .malformed,
                    "\(name.debugDescription): \(value.debugDescription) is documented but refused")
            } else {
                #expect(
                    verdict != .accepted, "\(name.debugDescription): \(value.debugDescription) is forbidden but taken")
            }
        }
    }

    /// The refusals a schema cannot state carry `error.reason` on the wire, and the document lists every reason.
    @Test func reasonsAreSentAndDocumented() async throws {
        let api = try await APIFixture()
        let r = await api.call(
            "POST", "/v1/routes", body: #"{"name":"R","target_base_url":"https://a.example","base_environment":"nope"}"#
        )
        #expect(r.status == 400)
        #expect(r.json["error"]?["type"] == "validation_error")
        #expect(r.json["error"]?["field"] == "base_environment")
        #expect(r.json["error"]?["reason"] == "unknown_reference")
        let malformed = await api.call(
            "POST", "/v1/routes", body: #"{"name":"","target_base_url":"https://a.example"}"#)
        #expect(malformed.status == 400)
        #expect(malformed.json["error"]?["reason"] == nil)
        let documented = OpenAPIDocument.document["components"]?["schemas"]?["Error"]?["properties"]?["error"]?[
            "properties"]?[
                "reason"]?["enum"]?.arrayValue?.compactMap(\.stringValue)
        #expect(documented == RefusalReason.allCases.map(\.rawValue))
    }
}
