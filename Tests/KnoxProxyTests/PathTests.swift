import Foundation
import KnoxCore
import KnoxEngine
import KnoxTestSupport
import Testing

@testable import KnoxProxy

/// A caller's path never leaves the route's base path: dot segments in any encoding are refused, and so are encoded
/// slashes unless the route allows them; TRACE only where the route lists it (issue 20, point 5).
@Suite struct PathTests {
    static let escaping = [
        "/a/../b", "/..", "/a/..", "/./a", "/a/./b", "/a/.", "/%2e%2e/b", "/%2E%2E/b", "/.%2e/b", "/%2e./b", "/a/%2e",
        "/a/..%2fb", "/a/..%2Fb", "/a/%252e%252e/b", "/a/%25252e%25252e/b", "/..;/admin", "/a/.;x/b", "/a\\..\\b",
        "/a/%2e%2e%5cb", "/a/..%5c", "/%2e%2e", "/a/%2e%2E/", "/a/.%00./b", "/a/%2525252e%2525252e/b",
        "/a/%u002e%u002e/b", "/a/%c0%ae%c0%ae/b", "/a/%e0%80%ae/b", "/a/%00",
    ]

    @Test(arguments: escaping)
    func dotSegmentsAreRefused(path: String) async throws {
        let p = try await ProxyFixture()
        try await p.route("Base", path: "/api/v1")
        let answer = try await p.raw(
            "GET \(path) HTTP/1.1\r\nHost: x\r\nx-knoxcall-key: \(p.key)\r\nx-knoxcall-route: base\r\n\r\n")
        #expect(answer.status == 400, "\(path)")
        #expect(answer.errorType == "validation_error", "\(path)")
        #expect(p.upstream.requests.isEmpty, "\(path)")
        let logs = try await p.logs()
        #expect(logs.count == 1 && logs.first?.statusCode == 400, "\(path)")
    }

    @Test func ordinaryPathsStillPass() async throws {
        let p = try await ProxyFixture()
        try await p.route("Base", path: "/api/v1")
        for path in [
            "/file.txt", "/a..b/c", "/.well-known/x", "/a/...", "/v1/items?next=../x&q=%2e%2e", "/a%20b", "/a%2e.b",
        ] {
            let answer = try await p.raw(
                "GET \(path) HTTP/1.1\r\nHost: x\r\nx-knoxcall-key: \(p.key)\r\nx-knoxcall-route: base\r\n\r\n")
            #expect(answer.status == 200, "\(path)")
            #expect(p.upstream.requests.last?.uri == "/api/v1" + path, "\(path)")
        }
    }

    @Test func encodedSlashesOnlyWhereTheRouteAllowsThem() async throws {
        let p = try await ProxyFixture()
        try await p.route("Strict")
        try await p.route("Slashes", extra: #""allow_encoded_slashes":true"#)
        for path in ["/files/a%2Fb", "/files/a%2fb", "/files/a%5Cb"] {
            let strict = try await p.call("GET", path, route: "strict")
            #expect(strict.status == 400 && strict.errorType == "validation_error", "\(path)")
            let open = try await p.call("GET", path, route: "slashes")
            #expect(open.status == 200, "\(path)")
            #expect(p.upstream.requests.last?.uri == path)
        }
        // Allowing encoded slashes never lets dot segments through.
        #expect(try await p.call("GET", "/a/..%2f..%2fetc", route: "slashes").status == 400)
    }

    @Test func traceOnlyWhereTheRouteListsIt() async throws {
        let p = try await ProxyFixture()
        try await p.route("Any")
        try await p.route("Tracing", extra: #""allowed_methods":["GET","TRACE"]"#)
        let refused = try await p.call("TRACE", "/", route: "any")
        #expect(refused.status == 405 && refused.errorType == "method_not_allowed")
        #expect(try await p.call("TRACE", "/", route: "tracing").status == 200)
        // Its look-alikes, and CONNECT, anywhere.
        for method in ["TRACK", "trace", "CONNECT", "connect"] {
            for route in ["any", "tracing"] {
                let refused = try await p.call(method, "/", route: route)
                #expect(refused.status == 405 && refused.errorType == "method_not_allowed", "\(method) on \(route)")
            }
        }
        #expect(p.upstream.requests.map(\.method) == ["TRACE"])
    }
}
