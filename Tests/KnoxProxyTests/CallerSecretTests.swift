import Foundation
import KnoxCore
import KnoxEngine
import KnoxTestSupport
import Testing

@testable import KnoxProxy

/// `{{secret:…}}` in the caller's own body resolves only the secrets the route (or its environment override) lists in
/// `callable_secrets`; every other reference, to a secret that exists or not, gets one answer that tells nothing
/// (issue 20, point 2).
@Suite struct CallerSecretTests {
    /// The error a caller sees, with the reference it wrote taken out: it must not depend on which secrets exist.
    private func shape(_ response: RawHTTP.Response, _ reference: String) -> String {
        let error = response.json["error"]
        return "\(response.status) \(error?["type"]?.stringValue ?? "") "
            + (error?["message"]?.stringValue ?? "").replacingOccurrences(of: reference, with: "‹ref›")
    }

    @Test func aRouteLetsCallersReferenceNoSecretByDefault() async throws {
        let p = try await ProxyFixture()
        let admin = "tk_live_planted_\(UUID().uuidString)"
        Capture.plant(admin, kind: "secret_value")
        let adminId = try await p.secret("ADMIN_KEY", admin)
        try await p.route("Echo", extra: #""inject_headers_json":{"X-Upstream-Key":"{{secret:ADMIN_KEY}}"}"#)
        let invoke = try await p.engine.makeKey("invoker", role: .invoke)
        func post(_ body: String) async throws -> RawHTTP.Response {
            try await p.call(
                "POST", "/echo", route: "echo", key: invoke, headers: ["Content-Type": "application/json"], body: body)
        }
        let pulled = try await post(#"{"x":"{{secret:ADMIN_KEY}}"}"#)
        #expect(pulled.status == 400 && pulled.errorType == "secret_not_found")
        #expect(!pulled.text.contains(admin))
        let byId = try await post(#"{"x":"{{secret_id:\#(adminId)}}"}"#)
        let missing = try await post(#"{"x":"{{secret:NO_SUCH_SECRET}}"}"#)
        let unknownId = UUID().uuidString.lowercased()
        let missingId = try await post(#"{"x":"{{secret_id:\#(unknownId)}}"}"#)
        // One answer for an existing, a listed-nowhere and a missing name.
        #expect(shape(pulled, "{{secret:ADMIN_KEY}}") == shape(missing, "{{secret:NO_SUCH_SECRET}}"))
        #expect(shape(byId, "{{secret_id:\(adminId)}}").hasPrefix("400 secret_not_found"))
        #expect(shape(byId, "{{secret_id:\(adminId)}}") == shape(missingId, "{{secret_id:\(unknownId)}}"))
        // Forms and text bodies too.
        let form = try await p.call(
            "POST", "/f", route: "echo", key: invoke, headers: ["Content-Type": "application/x-www-form-urlencoded"],
            body: "k=%7B%7Bsecret%3AADMIN_KEY%7D%7D")
        #expect(form.errorType == "secret_not_found")
        let text = try await p.call(
            "POST", "/t", route: "echo", key: invoke, headers: ["Content-Type": "text/plain"],
            body: "{{secret:ADMIN_KEY}}")
        #expect(text.errorType == "secret_not_found")
        #expect(p.upstream.requests.isEmpty)
        // The route's own injection keeps working.
        let plain = try await post(#"{"x":1}"#)
        #expect(plain.status == 200)
        #expect(p.upstream.requests.last?.header("X-Upstream-Key") == admin)
    }

    @Test func listedSecretsResolveAndNothingElse() async throws {
        let p = try await ProxyFixture()
        _ = try await p.engine.createEnvironment(json(#"{"name":"staging"}"#), console)
        let admin = "tk_live_planted_\(UUID().uuidString)"
        Capture.plant(admin, kind: "secret_value")
        _ = try await p.secret("ADMIN_KEY", admin)
        let publicId = try await p.secret("Public Token", "pub-value")
        _ = try await p.secret("STAGING_TOKEN", "staging-value")
        let route = try await p.route("Body", extra: #""callable_secrets":["public_token"]"#)
        let rid = try #require(route["id"]?.stringValue)
        #expect(route["callable_secrets"]?.arrayValue?.compactMap(\.stringValue) == ["PUBLIC_TOKEN"])
        func post(_ body: String, env: String? = nil) async throws -> RawHTTP.Response {
            var headers = ["Content-Type": "application/json"]
            if let env { headers["x-knoxcall-environment"] = env }
            return try await p.call("POST", "/echo", route: "body", headers: headers, body: body)
        }
        let ok = try await post(#"{"a":"{{secret:PUBLIC_TOKEN}}","b":"{{secret_id:\#(publicId)}}"}"#)
        #expect(ok.status == 200)
        #expect(p.upstream.requests.last?.bodyText == #"{"a":"pub-value","b":"pub-value"}"#)
        #expect(try await post(#"{"a":"{{secret:ADMIN_KEY}}"}"#).errorType == "secret_not_found")
        // An environment override lists its own.
        _ = try await p.engine.putRouteEnvironment(
            rid, "staging", json(#"{"callable_secrets":["STAGING_TOKEN"]}"#), console)
        let staged = try await post(#"{"a":"{{secret:STAGING_TOKEN}}"}"#, env: "staging")
        #expect(staged.status == 200)
        #expect(p.upstream.requests.last?.bodyText == #"{"a":"staging-value"}"#)
        #expect(try await post(#"{"a":"{{secret:STAGING_TOKEN}}"}"#).errorType == "secret_not_found")
        #expect(try await post(#"{"a":"{{secret:PUBLIC_TOKEN}}"}"#, env: "staging").errorType == "secret_not_found")
        // Listing a secret that does not exist is refused when the route is saved; a listed secret is in use.
        await #expect(throws: ApiError.self) {
            _ = try await p.engine.updateRoute(rid, json(#"{"callable_secrets":["NOPE"]}"#), console)
        }
        do {
            _ = try await p.engine.deleteSecret(publicId, console)
            Issue.record("a callable secret was deleted")
        } catch let error as ApiError {
            #expect(error.type == .inUse)
        }
        #expect(!(try await p.logs()).contains { ($0.error ?? "").contains(admin) })
    }
}
