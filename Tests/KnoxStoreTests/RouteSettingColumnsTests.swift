import Foundation
import GRDB
import KnoxCore
import KnoxTestSupport
import Testing

@testable import KnoxStore

/// The store keeps each route setting in the column its descriptor names, and gives back what it was given.
@Suite struct RouteSettingColumnsTests {
    @Test func everyStoredSettingHasItsColumnAndNoColumnLacksASetting() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.file("live.sqlite"))
        let columns = try await store.readSQLite { a in
            try String.fetchAll(a.db, sql: "SELECT name FROM pragma_table_info('route_environment_configs')")
        }
        let bookkeeping: Set<String> = ["id", "route_id", "environment_name", "created_at", "updated_at"]
        let stored = Set(RouteSettings.fields.filter(\.isStored).map(\.name))
        #expect(Set(columns).subtracting(bookkeeping) == stored)
    }

    /// A setting added to `RouteSettings` without a descriptor would never be read, shown or stored: the number of
    /// properties and of stored descriptors agree.
    @Test func everySettingsPropertyHasADescriptor() {
        let properties = Mirror(reflecting: RouteSettings()).children.count
        #expect(properties == RouteSettings.fields.filter(\.isStored).count)
    }

    @Test(arguments: RouteSettings.fields.filter(\.isStored).map(\.name))
    func aSampleValueSurvivesTheColumn(name: String) throws {
        let field = try #require(RouteSettings.fields.first { $0.name == name })
        var settings = RouteSettings.baseDefaults
        settings.allowedMethods = ["GET"]  // http_method_restrictions_enabled: true needs it
        let body = try FieldReader(JSONObject(pairs: [(name, field.sample)]), allowed: [name])
        try field.read(body, isBase: true, into: &settings)
        var loaded = RouteSettings()
        for f in RouteSettings.fields where f.isStored {
            let column = StoredValue(f.stored(settings).databaseValue)
            f.load(column, into: &loaded)
        }
        #expect(loaded == settings)
        #expect(field.wire(loaded) == field.wire(settings))
    }
}

/// The store keeps each client field in the column its descriptor names.
@Suite struct ClientColumnsTests {
    @Test func theClientsTableHoldsExactlyTheStoredFields() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.file("live.sqlite"))
        let columns = try await store.readSQLite { a in
            try String.fetchAll(a.db, sql: "SELECT name FROM pragma_table_info('clients')")
        }
        #expect(Set(columns) == Set(Client.fields.filter(\.isStored).map(\.name)))
    }
}

/// The store keeps each route field in the column its descriptor names.
@Suite struct RouteColumnsTests {
    @Test func theRoutesTableHoldsExactlyTheStoredFields() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.file("live.sqlite"))
        let columns = try await store.readSQLite { a in
            try String.fetchAll(a.db, sql: "SELECT name FROM pragma_table_info('routes')")
        }
        #expect(Set(columns) == Set(Route.fields.filter(\.isStored).map(\.name)))
    }
}

/// The store keeps each API key field in the column its descriptor names; the key's hash is never on the wire.
@Suite struct ApiKeyColumnsTests {
    @Test func theApiKeysTableHoldsExactlyTheStoredFields() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.file("live.sqlite"))
        let columns = try await store.readSQLite { a in
            try String.fetchAll(a.db, sql: "SELECT name FROM pragma_table_info('api_keys')")
        }
        #expect(Set(columns) == Set(ApiKey.fields.filter(\.isStored).map(\.name)))
        var key = ApiKey.blank()
        key.keyHash = [1, 2, 3]
        #expect(ApiKey.fields.wire(key)["key_hash"] == nil)
        #expect(!ApiKey.fields.answerSchema().contains { $0.0 == "key_hash" })
    }
}

/// The store keeps each environment field in the column its descriptor names.
@Suite struct EnvironmentColumnsTests {
    @Test func theEnvironmentsTableHoldsExactlyTheStoredFields() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.file("live.sqlite"))
        let columns = try await store.readSQLite { a in
            try String.fetchAll(a.db, sql: "SELECT name FROM pragma_table_info('environments')")
        }
        #expect(!columns.isEmpty)
        #expect(Set(columns) == Set(Environment.fields.filter(\.isStored).map(\.name)))
    }
}

/// The store keeps each secret field in the column its descriptor names (a secret's value is in `secret_values`,
/// sealed, never here), and gives back what it was given.
@Suite struct SecretColumnsTests {
    @Test func theSecretsTableHoldsExactlyTheStoredFields() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.file("live.sqlite"))
        let columns = try await store.readSQLite { a in
            try String.fetchAll(a.db, sql: "SELECT name FROM pragma_table_info('secrets')")
        }
        #expect(Set(columns) == Set(Secret.fields.filter(\.isStored).map(\.name)))
        #expect(!columns.contains("value"))
    }

    @Test func aSecretSurvivesItsColumns() {
        let secret = Secret(
            id: "5f0c2a9e-1d1b-4c39-9a53-2b7f6a0e8c11", name: "KEPT", secretType: .string, baseEnvironment: "staging",
            description: "kept", collectionId: "c", expiresAt: 1_900_000_000_000, strictExpiryEnforcement: true,
            createdAt: 1, updatedAt: 2)
        var loaded = Secret.blank()
        for field in Secret.fields where field.isStored {
            field.load(StoredValue(field.stored(secret).databaseValue), into: &loaded)
        }
        #expect(loaded == secret)
    }
}
