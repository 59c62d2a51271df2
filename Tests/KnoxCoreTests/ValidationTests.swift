import Testing

@testable import KnoxCore

@Suite struct ValidationTests {
    @Test func pageRequestEdges() throws {
        let sortable = ["created_at", "name"]
        let p = try PageRequest.parse([:], sortable: sortable, defaultSort: "created_at", defaultOrder: .desc)
        #expect(p == PageRequest(page: 1, perPage: 20, sort: "created_at", order: .desc))
        let q = try PageRequest.parse(
            ["page": "3", "per_page": "100", "sort": "name", "order": "asc"], sortable: sortable,
            defaultSort: "created_at",
            defaultOrder: .desc)
        #expect(q.offset == 200)
        for (key, value) in [
            ("page", "0"), ("page", "-1"), ("page", "x"), ("per_page", "0"), ("per_page", "101"),
            ("sort", "secret"), ("order", "up"),
        ] {
            do {
                _ = try PageRequest.parse(
                    [key: value], sortable: sortable, defaultSort: "created_at", defaultOrder: .desc)
                Issue.record("\(key)=\(value) accepted")
            } catch {
                #expect(error.type == .validationError)
                #expect(error.field == key)
                #expect(error.message.hasPrefix(key))
            }
        }
        #expect(Page(items: [1, 2], total: 41, request: q).totalPages == 1)
        #expect(Page<Int>(items: [], total: 0, request: p).totalPages == 0)
        #expect(Page<Int>(items: [], total: 41, request: p).totalPages == 3)
    }

    @Test func upstreamURLs() throws {
        #expect(try UpstreamURL.parse("https://api.stripe.com/v1/").get().description == "https://api.stripe.com/v1")
        #expect(try UpstreamURL.parse("HTTP://Example.COM:8080").get().description == "http://example.com:8080")
        #expect(try UpstreamURL.parse("http://[::1]:9000/x").get().hostHeader == "[::1]:9000")
        #expect(try UpstreamURL.parse("https://a.com:443").get().hostHeader == "a.com")
        for bad in [
            "ftp://a.com", "https://", "https://a.com?x=1", "https://a.com#f", "https://u:p@a.com",
            "https://a.com:0", "https://a.com:99999", "https://a b.com", "https://-a.com", "api.com/v1", "http://[::1",
        ] {
            #expect(throws: UpstreamURL.ParseError.self, "\(bad)") { try UpstreamURL.parse(bad).get() }
        }
    }

    /// Found by schemathesis (issue 21): "/" followed by an emoji modifier is one Character, so the authority seemed
    /// to run on into the path ("has an invalid port"). URLs are ASCII now, with RFC 3986 path characters.
    @Test func upstreamURLsAreASCIIWithRFC3986Paths() throws {
        #expect(
            try UpstreamURL.parse("https://[21d:f::212.109.198.14]/a%2Fb~!$&'()*+,;=:@").get().basePath
                == "/a%2Fb~!$&'()*+,;=:@")
        #expect(
            UpstreamURL.parse("https://[::1]/\u{1F3FB}x")
                == .failure(.init("must be ASCII; percent-encode other characters (RFC 3986)")))
        #expect(
            UpstreamURL.parse("https://a.com/\u{301}")
                == .failure(.init("must be ASCII; percent-encode other characters (RFC 3986)")))
        for (bad, char) in [
            ("https://a.com/<x>", "<"), ("https://a.com/%zz", "%"), ("https://a.com/%2", "%"),
            ("https://a.com/{x}", "{"),
        ] {
            #expect(
                UpstreamURL.parse(bad) == .failure(.init("has \"\(char)\" in its path; percent-encode it (RFC 3986)")),
                "\(bad)")
        }
    }

    @Test func fieldReaderNamesTheField() throws {
        let body = try JSONValue.parse(#"{"name":"x","count":"3","flag":1,"list":["a",2]}"#)
        let r = try FieldReader(body: body, allowed: ["name", "count", "flag", "list"])
        #expect(try r.requiredString("name") == "x")
        #expect(throws: ApiError.invalid("count", "must be a whole number (got string)")) {
            try r.int("count", in: 1...5)
        }
        #expect(throws: ApiError.invalid("flag", "must be true or false (got number)")) { try r.bool("flag") }
        #expect(throws: ApiError.invalid("list[1]", "must be a string (got number)")) { try r.stringArray("list") }
        #expect(throws: ApiError.invalid("missing", "is required")) { try r.requiredString("missing") }
        do {
            _ = try FieldReader(body: body, allowed: ["name"])
            Issue.record("unknown field accepted")
        } catch {
            #expect(error.field == "count")
        }
        #expect(throws: ApiError.self) { try FieldReader(body: .array([]), allowed: []) }
    }

    @Test func routeSettingsOverlay() {
        var base = RouteSettings.baseDefaults
        base.targetBaseURL = "https://base"
        base.injectHeaders = ["A": "1"]
        var override = RouteSettings()
        override.targetBaseURL = "https://staging"
        override.injectHeaders = JSONObject()  // empty inherits
        override.rateLimitEnabled = true
        let effective = base.overlaid(with: override)
        #expect(effective.targetBaseURL == "https://staging")
        #expect(effective.injectHeaders == ["A": "1"])
        #expect(effective.rateLimitEnabled == true)
        #expect(effective.signatureToleranceSec == 300)
    }
}
