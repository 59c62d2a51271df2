import Foundation
import KnoxAPI
import KnoxCore
import KnoxCrypto
import KnoxEngine
import KnoxStore
import KnoxTestSupport
import Testing

@Suite final class SecretAndClientTests {
    let fixture: EngineFixture
    let engine: Engine

    deinit { fixture.dir.remove() }

    init() throws {
        fixture = try EngineFixture()
        engine = try fixture.engine()
    }

    @Test func secretsAreNormalizedAndNeverReturned() async throws {
        let s = try await engine.secret("Stripe API Key", "sk_live_PLANTED_123")
        #expect(s["name"] == "STRIPE_API_KEY")
        #expect(s["shortcode_name"] == "STRIPE_API_KEY")
        #expect(s["environment_count"] == 1)
        #expect(!s.serialized().contains("PLANTED"))
        let id = try #require(s["id"]?.stringValue)
        #expect(!(try await engine.getSecret(id, actor: .console)).serialized().contains("PLANTED"))
        #expect(!(try await engine.listSecrets([:], actor: .console)).items.description.contains("PLANTED"))
        await expectApiError(.conflict, field: "name") { try await engine.secret("stripe_api_key", "x") }
        // The database holds only ciphertext, which opens only with this secret's own associated data.
        for file in try FileManager.default.contentsOfDirectory(atPath: fixture.dir.path) {
            let raw = try Data(contentsOf: URL(fileURLWithPath: fixture.dir.file(file)))
            #expect(raw.range(of: Data("sk_live_PLANTED_123".utf8)) == nil, "plaintext found in \(file)")
        }
        let sealed = try #require(engine.snapshot.sealedValues[id]?["production"])
        let sealer = SecretSealer(masterKey: fixture.masterKey)
        #expect(
            try sealer.open(sealed.ciphertext, tenantId: engine.tenantId, secretId: id, environment: "production")
                .reveal() == "sk_live_PLANTED_123")
        #expect(throws: SecretSealer.OpenError.self) {
            try sealer.open(sealed.ciphertext, tenantId: engine.tenantId, secretId: id, environment: "staging")
        }
    }

    @Test func secretTypes() async throws {
        #expect(try await engine.secret("A", "x", extra: #","secret_type":"api_key""#)["secret_type"] == "string")
        await expectApiError(.validationError, field: "secret_type") {
            try await engine.secret("B", "x", extra: #","secret_type":"oauth2""#)
        }
        await expectApiError(.validationError, field: "secret_type") {
            try await engine.createSecret(
                json(#"{"name":"C","certificate_content":"x"}"#), forcedType: .certificate, console)
        }
        await expectApiError(.validationError, field: "secret_type") {
            try await engine.secret("D", "x", extra: #","secret_type":"magic""#)
        }
        await expectApiError(.validationError, field: "value") {
            try await engine.createSecret(json(#"{"name":"E"}"#), console)
        }
        await expectApiError(.validationError, field: "value") { try await engine.secret("F", "") }
        await expectApiError(.validationError, field: "name") { try await engine.secret("bad{name}", "x") }
        await expectApiError(.validationError, field: "environment") {
            try await engine.secret("G", "x", extra: #","environment":"qa""#)
        }
    }

    @Test func valuesPerEnvironmentAreVersioned() async throws {
        _ = try await engine.createEnvironment(json(#"{"name":"staging"}"#), console)
        let id = try #require(try await engine.secret("K", "v1")["id"]?.stringValue)
        let r1 = try await engine.setSecretValue(id, environment: nil, json(#"{"value":"v2"}"#), console).data
        #expect(r1 == json(#"{"id":"\#(id)","name":"K","environment":"production","value_version":2}"#))
        let r2 = try await engine.setSecretValue(id, environment: "staging", json(#"{"value":"s1"}"#), console).data
        #expect(r2["value_version"] == 1)
        let r3 = try await engine.setSecretValue(
            id, environment: nil, json(#"{"value":"s2","environment":"staging"}"#), console
        ).data
        #expect(r3["value_version"] == 2)
        let detail = try await engine.getSecret(id, actor: .console)
        #expect(detail["environment_count"] == 2)
        await expectApiError(.validationError, field: "environment") {
            try await engine.setSecretValue(id, environment: "qa", json(#"{"value":"x"}"#), console)
        }
        await expectApiError(.validationError, field: "value") {
            try await engine.setSecretValue(id, environment: nil, json("{}"), console)
        }
        await expectApiError(.notFound) {
            try await engine.setSecretValue(Identifier.uuid(), environment: nil, json(#"{"value":"x"}"#), console)
        }
        // Audit rows name the change but never the value.
        let audit = try await engine.audit().map { $0.serialized() }.joined()
        #expect(audit.contains("secret.value_updated"))
        for planted in ["v1", "v2", "s1", "s2"] { #expect(!audit.contains("\"\(planted)\"")) }
    }

    @Test func inUseSecretsAndRenames() async throws {
        let byName = try #require(try await engine.secret("BY_NAME", "x")["id"]?.stringValue)
        let byId = try #require(try await engine.secret("BY_ID", "y")["id"]?.stringValue)
        try await engine.route(
            #"{"name":"R","target_base_url":"https://a.com","inject_headers_json":{"A":"{{secret:BY_NAME}}","B":"{{secret_id:\#(byId)}}"}}"#
        )
        let error = await expectApiError(.inUse) { try await engine.deleteSecret(byName, console) }
        #expect(error?.message.contains("route \"R\"") == true)
        await expectApiError(.inUse) { try await engine.deleteSecret(byId, console) }
        await expectApiError(.inUse) { try await engine.updateSecret(byName, json(#"{"name":"RENAMED"}"#), console) }
        // Referenced by id, a rename is safe.
        #expect(
            try await engine.updateSecret(byId, json(#"{"name":"renamed by id"}"#), console).data["name"]
                == "RENAMED_BY_ID")
        _ = try await engine.deleteRoute("r", console)
        _ = try await engine.deleteSecret(byName, console)
        await expectApiError(.notFound) { try await engine.getSecret(byName, actor: .console) }
    }

    @Test func signingSecretMustExist() async throws {
        let sid = try #require(try await engine.secret("SIGN", "k")["id"]?.stringValue)
        await expectApiError(.validationError, field: "signing_secret_id") {
            try await engine.route(
                #"{"name":"R","target_base_url":"https://a.com","require_signature":true,"signing_secret_id":"\#(Identifier.uuid())"}"#
            )
        }
        try await engine.route(
            #"{"name":"R","target_base_url":"https://a.com","require_signature":true,"signing_secret_id":"\#(sid)"}"#)
        await expectApiError(.inUse) { try await engine.deleteSecret(sid, console) }
    }

    @Test(arguments: [
        (#"{"name":"c"}"#, "ip_address"),
        (#"{"ip_address":"10.0.0.1"}"#, "name"),
        (#"{"name":"c","ip_address":"10.0.0.256"}"#, "ip_address"),
        (#"{"name":"c","ip_address":"10.0.0.5/16"}"#, "ip_address"),
        (#"{"name":"c","ip_address":"2001:db8::1/129"}"#, "ip_address"),
        (#"{"name":"c","ip_address":"10.0.0.1","type":"robot"}"#, "type"),
        (#"{"name":"c","ip_address":"10.0.0.1","ip_notes":"x"}"#, "ip_notes"),
        (#"{"name":"c","ip_address":"10.0.0.1","owner":"me"}"#, "owner"),
    ])
    func refusesBadClients(body: String, field: String) async throws {
        await expectApiError(.validationError, field: field) { try await engine.createClient(json(body), console) }
    }

    /// Bidirectional overrides, embeddings, isolates and marks, and zero-width characters make a name read differently
    /// from what it is ("Trojan Source"). The whole list (DECISIONS "Names") is exactly what the reader refuses, and a
    /// client's name refuses each one, at its start, inside or at its end, on create and on update, naming the code
    /// point; the client keeps its name, and other non-ASCII text is still a name.
    @Test func clientNamesRefuseInvisibleAndDirectionChangingCharacters() async throws {
        let ranges: [ClosedRange<UInt32>] = [
            0x061C...0x061C, 0x180E...0x180E, 0x200B...0x200F, 0x202A...0x202E, 0x2060...0x2064, 0x2066...0x2069,
            0xFEFF...0xFEFF,
        ]
        let hidden = ranges.flatMap { Array($0) }.compactMap { Unicode.Scalar($0) }
        #expect(hidden.count == 22)
        let listed = Set(hidden.map(\.value))
        var disagreeing: [UInt32] = []
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }  // surrogates
            if FieldReader.isInvisibleFormatting(scalar) != listed.contains(value) { disagreeing.append(value) }
        }
        #expect(disagreeing.isEmpty, "\(disagreeing.map { String($0, radix: 16) })")

        func name(_ i: Int, _ scalar: Unicode.Scalar) -> String {
            var text = i % 3 == 0 ? "" : "Back"
            text.unicodeScalars.append(scalar)
            text += i % 3 == 2 ? "" : "end"
            return text
        }
        let existing = try await engine.createClient(json(#"{"name":"backend","ip_address":"10.0.0.1"}"#), console).data
        let cid = try #require(existing["id"]?.stringValue)
        for (i, scalar) in hidden.enumerated() {
            let code = "U+" + String(scalar.value, radix: 16, uppercase: true)
            let onCreate = await expectApiError(.validationError, field: "name") {
                try await engine.createClient(["name": .string(name(i, scalar)), "ip_address": "10.0.0.2"], console)
            }
            #expect(onCreate?.message.contains("(found \(code))") == true, "\(code): \(onCreate?.message ?? "")")
            let onUpdate = await expectApiError(.validationError, field: "name") {
                try await engine.updateClient(cid, ["name": .string(name(i, scalar))], console)
            }
            #expect(onUpdate?.message.contains("(found \(code))") == true, "\(code): \(onUpdate?.message ?? "")")
        }
        #expect(try await engine.listClients([:], actor: .console).total == 1)
        #expect(try await engine.getClient(cid, actor: .console)["name"] == "backend")
        let renamed = try await engine.updateClient(cid, ["name": "Zürich – Backend ✓"], console).data
        #expect(renamed["name"] == "Zürich – Backend ✓")
    }

    @Test func clientsAndAssignments() async throws {
        let c = try await engine.createClient(
            json(#"{"name":"backend","ip_address":"2001:DB8::/32","type":"user","ip_notes":{"dc":"fra"}}"#), console
        ).data
        #expect(c["ip_address"] == "2001:db8::/32")
        #expect(c["type"] == "user")
        let cid = try #require(c["id"]?.stringValue)
        let r = try await engine.route(#"{"name":"R","target_base_url":"https://a.com"}"#)
        let rid = try #require(r["id"]?.stringValue)
        let a = try await engine.assignClient(rid, cid, json(#"{"environment":"production"}"#), console).data
        #expect(a["client_id"] == .string(cid))
        await expectApiError(.validationError, field: "environment") {
            try await engine.assignClient(rid, cid, json(#"{"environment":"qa"}"#), console)
        }
        await expectApiError(.notFound) { try await engine.assignClient(rid, Identifier.uuid(), nil, console) }
        #expect(try await engine.getClient(cid, actor: .console)["route_assignments"]?.arrayValue?.count == 1)
        #expect(engine.snapshot.assignments[rid]?["production"] == [cid])
        let updated = try await engine.updateClient(cid, json(#"{"enabled":false,"ip_address":"10.0.0.0/8"}"#), console)
            .data
        #expect(updated["enabled"] == false)
        #expect(updated["ip_address"] == "10.0.0.0/8")
        _ = try await engine.unassignClient(rid, cid, environment: nil, nil, console)
        await expectApiError(.notFound) { try await engine.unassignClient(rid, cid, environment: nil, nil, console) }
        _ = try await engine.deleteClient(cid, console)
        await expectApiError(.notFound) { try await engine.getClient(cid, actor: .console) }
        let filtered = try await engine.listClients(["type": "server"], actor: .console)
        #expect(filtered.total == 0)
        await expectApiError(.validationError, field: "type") {
            try await engine.listClients(["type": "x"], actor: .console)
        }
    }

    @Test func environmentsRules() async throws {
        await expectApiError(.validationError, field: "name") {
            try await engine.createEnvironment(json(#"{"name":"Staging!"}"#), console)
        }
        let e = try await engine.createEnvironment(json(##"{"name":"qa_eu","color":"#ABCDEF"}"##), console).data
        #expect(e["display_name"] == "Qa Eu")
        #expect(e["color"] == "#abcdef")
        await expectApiError(.conflict, field: "name") {
            try await engine.createEnvironment(json(#"{"name":"qa_eu"}"#), console)
        }
        await expectApiError(.validationError, field: "color") {
            try await engine.updateEnvironment("qa_eu", json(#"{"color":"red"}"#), console)
        }
        await expectApiError(.validationError, field: "name") {
            try await engine.updateEnvironment("qa_eu", json(#"{"name":"qa"}"#), console)
        }
        await expectApiError(.conflict, field: "id") { try await engine.deleteEnvironment("production", console) }
        // Making qa_eu the default moves the flag; the default cannot be deleted.
        _ = try await engine.updateEnvironment("qa_eu", json(#"{"is_default":true}"#), console)
        let list = try await engine.listEnvironments([:], actor: .console).arrayValue ?? []
        #expect(list.filter { $0["is_default"] == true }.map { $0["name"] } == ["qa_eu"])
        await expectApiError(.conflict, field: "id") { try await engine.deleteEnvironment("qa_eu", console) }
        // A new route now defaults to qa_eu.
        #expect(
            try await engine.route(#"{"name":"R","target_base_url":"https://a.com"}"#)["base_environment"] == "qa_eu")
        _ = try await engine.updateEnvironment("production", json(#"{"is_default":true}"#), console)
        await expectApiError(.inUse) { try await engine.deleteEnvironment("qa_eu", console) }
    }
}
