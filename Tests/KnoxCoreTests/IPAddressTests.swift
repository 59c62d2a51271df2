import Testing

@testable import KnoxCore

@Suite struct IPAddressTests {
    @Test(arguments: [
        ("203.0.113.42", "203.0.113.42"), ("::1", "::1"), ("2001:DB8::1", "2001:db8::1"),
        ("2001:db8:0:0:0:0:0:1", "2001:db8::1"), ("::ffff:192.0.2.1", "::ffff:c000:201"), ("::", "::"),
        ("fe80:0:0:0:1:0:0:1", "fe80::1:0:0:1"),
    ])
    func parsesAndCanonicalizes(_ input: String, _ canonical: String) {
        #expect(IPAddress(input)?.description == canonical)
    }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-1", "::1::", "2001:db8:::1", "12345::",
        "1:2:3:4:5:6:7:8:9", "fe80::1%eth0", "g::1", " 1.2.3.4",
    ])
    func refusesMalformed(_ input: String) {
        #expect(IPAddress(input) == nil)
    }

    @Test func rangesRequireCleanHostBits() {
        #expect((try? IPRange.parse("10.0.0.0/16").get())?.description == "10.0.0.0/16")
        #expect((try? IPRange.parse("2001:db8::/32").get())?.description == "2001:db8::/32")
        #expect((try? IPRange.parse("203.0.113.42").get())?.description == "203.0.113.42")
        #expect(IPRange.parse("10.0.0.5/16") == .failure(.hostBitsSet(suggestion: "10.0.0.0/16")))
        #expect(IPRange.parse("10.0.0.0/33") == .failure(.malformed))
        #expect(IPRange.parse("10.0.0.0/") == .failure(.malformed))
        #expect(IPRange.parse("10.0.0.0/08") == .failure(.malformed))
        #expect(IPRange.parse("::/129") == .failure(.malformed))
    }

    @Test func containment() throws {
        let v4 = try IPRange.parse("203.0.113.0/24").get()
        #expect(v4.contains(try #require(IPAddress("203.0.113.200"))))
        #expect(!v4.contains(try #require(IPAddress("203.0.114.1"))))
        #expect(v4.contains(try #require(IPAddress("::ffff:203.0.113.9"))))
        let v6 = try IPRange.parse("2001:db8::/32").get()
        #expect(v6.contains(try #require(IPAddress("2001:db8:ffff::1"))))
        #expect(!v6.contains(try #require(IPAddress("2001:db9::1"))))
        #expect(!v6.contains(try #require(IPAddress("10.0.0.1"))))
        let all = try IPRange.parse("0.0.0.0/0").get()
        #expect(all.contains(try #require(IPAddress("8.8.8.8"))))
    }
}
