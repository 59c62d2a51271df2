import KnoxCore
import KnoxCrypto
import KnoxStore

extension Engine {
    static let secretCreateFields = Secret.fields.bodyNames(create: true)
    static let secretUpdateFields = Secret.fields.bodyNames(create: false)

    /// The SDK's names for a static value (`api_key`, `basic_auth`, `custom`) are stored as `string`.
    static let stringSecretAliases = Set(Secret.Kind.stringAliases)

    /// `POST /v1/secrets` (and `/v1/secrets/oauth2`, `/v1/secrets/certificate`: `Change<Secret>.create(_:forcedType:)`
    /// has checked the type).
    public func createSecret(_ change: Change<Secret>, _ ctx: RequestContext) async throws
        -> MutationResult<SecretSummary>
    {
        try require("secrets:write", ctx.actor)
        let sealer = sealer
        return try await mutate(ctx, status: 201, wire: Wire.secret) { m in
            let r = change.body
            var secret = Secret.blank(id: Identifier.uuid(), at: m.now)
            var sent: SecretValue?
            var valueEnv: String?
            for field in Secret.fields {
                switch field.name {
                case "value":
                    guard let text = try r.string("value").value else { throw ApiError.invalid("value", "is required") }
                    try Engine.checkSecretValue(text)
                    sent = SecretValue(text)
                case "environment":
                    valueEnv = try r.text("environment", maxLength: 63).value
                case "base_environment":
                    let baseEnv =
                        try r.text("base_environment", maxLength: 63).value ?? valueEnv ?? m.defaultEnvironmentName()
                    _ = try m.existingEnvironment(
                        baseEnv, field: r.has("base_environment") ? "base_environment" : "environment")
                    _ = try m.existingEnvironment(valueEnv ?? baseEnv, field: "environment")
                    secret.baseEnvironment = baseEnv
                case "secret_type":
                    // Checked at the edge, before anything else: every type taken so far is stored as string.
                    secret.secretType = .string
                default:
                    try field.read(r, isCreate: true, into: &secret)
                }
            }
            guard let value = sent else { throw ApiError.invalid("value", "is required") }
            let environment = valueEnv ?? secret.baseEnvironment
            try m.checkLimit(.secrets, m.limits.secrets, "secret")
            guard try m.access.secret(name: secret.name) == nil else {
                throw ApiError(.conflict, "A secret named \(secret.name) already exists", field: "name")
            }
            try m.access.insert(secret)
            let sealed = sealer.seal(value, tenantId: m.tenantId, secretId: secret.id, environment: environment)
            try m.access.save(
                SealedSecretValue(
                    secretId: secret.id, environmentName: environment, ciphertext: sealed, valueVersion: 1,
                    updatedAt: m.now))
            try m.audit(
                "secret.created", "secret", secret.id,
                ["name": .string(secret.name), "environment": .string(environment)])
            return SecretSummary(secret: secret, environmentCount: 1)
        }
    }

    /// `PATCH /v1/secrets/:id`: metadata only; the value changes through `PUT /value`.
    public func updateSecret(_ id: String, _ change: Change<Secret>, _ ctx: RequestContext) async throws
        -> MutationResult<SecretSummary>
    {
        try require("secrets:write", ctx.actor)
        return try await mutate(ctx, wire: Wire.secret) { m in
            let r = change.body
            guard var secret = try Engine.findSecret(id, m.access) else { throw ApiError.notFound("Secret") }
            guard !change.isEmpty else {
                throw ApiError(.validationError, "No valid fields provided; send at least one field to change")
            }
            for field in Secret.fields {
                let before = secret.name
                try field.read(r, isCreate: false, into: &secret)
                // A new name must be free, and nothing may still refer to the secret by the old one.
                if field.name == "name", secret.name != before {
                    if let other = try m.access.secret(name: secret.name), other.id != secret.id {
                        throw ApiError(.conflict, "A secret named \(secret.name) already exists", field: "name")
                    }
                    let byName = try m.access.secretUses(secretId: secret.id).filter(\.byName)
                    if !byName.isEmpty {
                        throw ApiError(
                            .inUse,
                            "Secret \(before) is referenced by name in \(Engine.describeUses(byName)); "
                                + "switch those to {{secret_id:\(secret.id)}} before renaming")
                    }
                }
            }
            secret.updatedAt = m.now
            try m.access.update(secret)
            try m.audit(
                "secret.updated", "secret", secret.id, ["changed_fields": .array(change.names.map(JSONValue.string))])
            let count = try m.access.secretValues(secretId: secret.id).count
            return SecretSummary(secret: secret, environmentCount: count)
        }
    }

    /// `PUT /v1/secrets/:id/value` with `{"value": …, "environment"?: …}` (or `?environment=`).
    public func setSecretValue(_ id: String, _ input: SecretValueInput, _ ctx: RequestContext) async throws
        -> MutationResult<StoredSecretValue>
    {
        try require("secrets:write", ctx.actor)
        let sealer = sealer
        return try await mutate(ctx, wire: Wire.secretValue) { m in
            guard let secret = try Engine.findSecret(id, m.access) else { throw ApiError.notFound("Secret") }
            guard secret.secretType == .string else {
                throw ApiError(
                    .invalidType, "Only string secrets take a value; \(secret.name) is \(secret.secretType.rawValue)")
            }
            let environment = input.environment ?? secret.baseEnvironment
            _ = try m.existingEnvironment(environment, field: "environment")
            let previous = try m.access.secretValues(secretId: secret.id).first { $0.environmentName == environment }
            let version = (previous?.valueVersion ?? 0) + 1
            let sealed = sealer.seal(input.value, tenantId: m.tenantId, secretId: secret.id, environment: environment)
            try m.access.save(
                SealedSecretValue(
                    secretId: secret.id, environmentName: environment, ciphertext: sealed, valueVersion: version,
                    updatedAt: m.now))
            try m.audit(
                "secret.value_updated", "secret", secret.id,
                ["name": .string(secret.name), "environment": .string(environment), "value_version": .int(version)])
            return StoredSecretValue(
                secretId: secret.id, secretName: secret.name, environment: environment, valueVersion: version)
        }
    }

    /// `DELETE /v1/secrets/:id`: refused with `in_use` while any route refers to it.
    public func deleteSecret(_ id: String, _ ctx: RequestContext) async throws -> MutationResult<Removal> {
        try require("secrets:write", ctx.actor)
        return try await mutate(ctx, wire: Wire.removal) { m in
            guard let secret = try Engine.findSecret(id, m.access) else { throw ApiError.notFound("Secret") }
            let uses = try m.access.secretUses(secretId: secret.id)
            guard uses.isEmpty else {
                throw ApiError(
                    .inUse,
                    "Secret \(secret.name) is used by \(Engine.describeUses(uses)); remove it from those routes first")
            }
            try m.access.deleteSecret(id: secret.id)
            try m.audit("secret.deleted", "secret", secret.id, ["name": .string(secret.name)])
            return .deleted
        }
    }

    // MARK: - Reads

    /// The query of `GET /v1/secrets`.
    public static let secretQuery = QueryDescriptor.page(sort: Secret.sortKeys, default: "name", .asc)

    /// `GET /v1/secrets` (metadata only).
    public func secrets(_ q: QueryRequest, actor: Actor) async throws -> Page<SecretSummary> {
        try require("secrets:read", actor)
        let request = q.page
        return try await self.query { access in
            let counts = try access.secretValueCounts()
            return try access.secrets(request).map { SecretSummary(secret: $0, environmentCount: counts[$0.id] ?? 0) }
        }
    }

    /// `GET /v1/secrets/:id`: metadata, per-environment versions and the routes that use it.
    public func secretDetail(_ id: String, actor: Actor) async throws -> SecretDetail {
        try require("secrets:read", actor)
        guard
            let detail = try await query({ access -> SecretDetail? in
                guard let secret = try Engine.findSecret(id, access) else { return nil }
                return SecretDetail(
                    secret: secret, versions: try access.secretValues(secretId: secret.id).map(SecretValueVersion.init),
                    uses: try access.secretUses(secretId: secret.id))
            })
        else { throw ApiError.notFound("Secret") }
        return detail
    }

    // MARK: - Helpers

    static func findSecret(_ idOrName: String, _ access: some SecretStore) throws -> Secret? {
        if Identifier.isUUID(idOrName) { return try access.secret(id: idOrName.lowercased()) }
        return try SecretName.normalize(idOrName).flatMap { try access.secret(name: $0) }
    }

    static func secretName(_ raw: String) throws(ApiError) -> String { try Secret.normalizedName(raw) }

    static func checkSecretValue(_ value: String) throws(ApiError) {
        guard !value.isEmpty else { throw ApiError.invalid("value", "must not be empty") }
        guard value.unicodeScalars.count <= 65_536 else {
            throw ApiError.invalid("value", "must be at most 65,536 characters")
        }
    }

    static func describeUses(_ uses: [SecretUse]) -> String {
        var seen: [String] = []
        for use in uses {
            let text = "route \"\(use.routeName)\" (\(use.environmentName): \(use.field))"
            if !seen.contains(text) { seen.append(text) }
        }
        let shown = seen.prefix(5).joined(separator: ", ")
        return seen.count > 5 ? "\(shown) and \(seen.count - 5) more" : shown
    }
}

extension Engine {
    /// `GET /v1/secrets/:id/oauth2/token`: only OAuth2 secrets have tokens, and none exist yet in this version.
    public func secretOAuthToken(_ id: String, actor: Actor) async throws -> JSONValue {
        try require("secrets:read", actor)
        guard let secret = try await query({ try Engine.findSecret(id, $0) }) else { throw ApiError.notFound("Secret") }
        throw ApiError(
            .invalidType, "Secret \(secret.name) is not an OAuth2 secret (it is \(secret.secretType.rawValue))")
    }
}
