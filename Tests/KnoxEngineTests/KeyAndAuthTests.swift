import Foundation
import KnoxAPI
import KnoxCore
import KnoxEngine
import KnoxTestSupport
import Testing

@Suite final class KeyAndAuthTests {
    let fixture: EngineFixture
    let engine: Engine

    deinit { fixture.dir.remove() }

    init() throws {
        fixture = try EngineFixture()
        engine = try fixture.engine()
    }

    @Test func keysAuthenticateUntilRevokedOrExpired() async throws {
        let key = try await engine.makeKey(role: .editor)
        let caller = try engine.authenticate(credential: key)
        #expect(caller.key?.roleIds == [Role.editor.id])
        await expectApiError(.authenticationRequired) { try engine.authenticate(credential: nil) }
        await expectApiError(.authenticationRequired) { try engine.authenticate(credential: "") }
        await expectApiError(.invalidApiKey) { try engine.authenticate(credential: key + "x") }
        await expectApiError(.invalidApiKey) { try engine.authenticate(credential: "garbage") }
        let tampered = String(key.dropLast()) + (key.last == "A" ? "B" : "A")
        await expectApiError(.invalidApiKey) { try engine.authenticate(credential: tampered) }
        await expectApiError(.wrongKeyType) { try engine.authenticate(credential: "tk_test_abc_def") }
        _ = try await engine.revokeApiKey(caller.key!.id, console)
        await expectApiError(.invalidApiKey) { try engine.authenticate(credential: key) }

        let expiring = try await engine.makeKey("short", extra: ["expires_in_days": 1])
        _ = try engine.authenticate(credential: expiring)
        fixture.clock.advance(seconds: 86_401)
        await expectApiError(.invalidApiKey) { try engine.authenticate(credential: expiring) }
    }

    @Test func keyListNeverShowsTheKey() async throws {
        let key = try await engine.makeKey()
        let listed = try await engine.listApiKeys([:], actor: .console).items.map { $0.serialized() }.joined()
        let secretPart = String(key.split(separator: "_").last ?? "")
        #expect(!listed.contains(secretPart))
        #expect(!(try await engine.audit().map { $0.serialized() }.joined().contains(secretPart)))
        #expect(listed.contains(String(key.dropLast(secretPart.count + 1))))
    }

    @Test func expiryRules() async throws {
        let now = fixture.clock.nowMillis()
        let standard = try await engine.createApiKey(json(#"{"name":"d"}"#), console).data
        #expect(standard["expires_at"] == .string(Timestamp.format(millis: now + 90 * 86_400_000)))
        #expect(standard["api_key"]?.stringValue?.hasPrefix("tk_live_") == true)
        #expect(standard["role_ids"] == [])
        await expectApiError(.conflictingExpiryFields) {
            try await engine.createApiKey(json(#"{"name":"x","expires_in_days":3,"never_expires":true}"#), console)
        }
        await expectApiError(.invalidExpiry) {
            try await engine.createApiKey(json(#"{"name":"x","expires_in_days":366}"#), console)
        }
        await expectApiError(.invalidExpiry) {
            try await engine.createApiKey(json(#"{"name":"x","never_expires":false}"#), console)
        }
        await expectApiError(.invalidExpiry) {
            try await engine.createApiKey(
                json(#"{"name":"x","expires_at":"\#(Timestamp.format(millis: now - 1000))"}"#), console)
        }
        let never = try await engine.createApiKey(json(#"{"name":"x","never_expires":true}"#), console).data
        #expect(never["expires_at"] == .null)
        await expectApiError(.validationError, field: "rate_limit_window_sec") {
            try await engine.createApiKey(json(#"{"name":"x","rate_limit_requests":5}"#), console)
        }
    }

    @Test func rolesAndPrivilegeEscalation() async throws {
        let editor = try engine.authenticate(credential: try await engine.makeKey(role: .editor))
        let ctx = RequestContext(actor: editor.actor)
        await expectApiError(.forbidden) { try await engine.createApiKey(json(#"{"name":"x"}"#), ctx) }
        let infra = try engine.authenticate(credential: try await engine.makeKey(role: .infrastructure))
        let infraCtx = RequestContext(actor: infra.actor)
        let invoke = try await engine.createApiKey(json(#"{"name":"i","role_ids":["\#(Role.invoke.id)"]}"#), infraCtx)
            .data
        #expect(invoke["role_ids"] == [.string(Role.invoke.id)])
        let error = await expectApiError(.privilegeEscalation) {
            try await engine.createApiKey(json(#"{"name":"a","role_ids":["admin"]}"#), infraCtx)
        }
        #expect(error?.message.contains("lacks") == true)
        await expectApiError(.forbidden) {
            try await engine.createApiKey(json(#"{"name":"a","role_ids":["owner"]}"#), console)
        }

        let readOnly = try engine.authenticate(credential: try await engine.makeKey(role: .readOnly))
        await expectApiError(.forbidden) {
            try await engine.createRoute(
                json(#"{"name":"R","target_base_url":"https://a.com"}"#), RequestContext(actor: readOnly.actor))
        }
        #expect(try await engine.listRoutes([:], actor: readOnly.actor).total == 0)
        let noRole = try engine.authenticate(
            credential: try await engine.createApiKey(json(#"{"name":"n"}"#), console).data["api_key"]?.stringValue)
        await expectApiError(.forbidden) { try await engine.listRoutes([:], actor: noRole.actor) }
    }

    @Test func accessKeysCarryScopes() async throws {
        let ake = try await engine.createApiKey(
            json(#"{"name":"a","key_type":"access_key","scopes":["routes:read"],"expires_in_days":30}"#), console
        ).data
        let text = try #require(ake["api_key"]?.stringValue)
        #expect(text.hasPrefix("AKE"))
        let caller = try engine.authenticate(credential: text)
        #expect(caller.actor.permissions.allows("routes:read"))
        #expect(!caller.actor.permissions.allows("routes:write"))
        await expectApiError(.invalidExpiry) {
            try await engine.createApiKey(
                json(#"{"name":"a","key_type":"access_key","scopes":["routes:read"],"never_expires":true}"#), console)
        }
        await expectApiError(.validationError, field: "scopes[0]") {
            try await engine.createApiKey(
                json(#"{"name":"a","key_type":"access_key","scopes":["root:everything"]}"#), console)
        }
        await expectApiError(.validationError, field: "scopes") {
            try await engine.createApiKey(json(#"{"name":"a","scopes":["routes:read"]}"#), console)
        }
        await expectApiError(.validationError, field: "key_type") {
            try await engine.createApiKey(json(#"{"name":"a","key_type":"test"}"#), console)
        }
    }

    @Test func managementRateLimitPerKey() async throws {
        let key = try await engine.makeKey(extra: ["rate_limit_requests": 3, "rate_limit_window_sec": 60])
        let caller = try engine.authenticate(credential: key)
        var decisions = (0..<4).map { _ in engine.takeRateLimit(caller) }
        #expect(decisions.map(\.allowed) == [true, true, true, false])
        #expect(decisions.map(\.remaining) == [2, 1, 0, 0])
        #expect(decisions[3].retryAfter == 20)
        fixture.clock.advance(seconds: 20)
        decisions = [engine.takeRateLimit(caller), engine.takeRateLimit(caller)]
        #expect(decisions.map(\.allowed) == [true, false])
        // Another key has its own bucket.
        let other = try engine.authenticate(credential: try await engine.makeKey("other"))
        #expect(engine.takeRateLimit(other).remaining == 999)
    }

    @Test func rolesList() throws {
        let page = try engine.listRoles(["subject_kind": "api_key"])
        #expect(page.items.compactMap { $0["name"]?.stringValue }.sorted() == Role.seeded.map(\.name).sorted())
        #expect(try engine.listRoles(["subject_kind": "user"]).total == 0)
        #expect(throws: ApiError.self) { try engine.listRoles(["subject_kind": "robot"]) }
    }
}
