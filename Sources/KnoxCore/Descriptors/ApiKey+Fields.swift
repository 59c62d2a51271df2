extension ApiKey {
    /// What a list of API keys may be sorted by: names of its stored fields (so also their columns), in the
    /// order the document lists them.
    public static let sortKeys = ["created_at", "name", "last_used_at"]

    /// Every field of an API key as the store keeps it and the wire shows it. A create body is read by the handler
    /// (its rules tie fields together: the key type and its roles or scopes, the expiry fields, the rate-limit pair,
    /// and the caller's own privileges), and its schema is `ApiKeyCreate`. `key_hash` is stored and never shown.
    public static let fields: [ResourceField<ApiKey>] = [
        .text("id", \.id, output: JSONSchema.uuid()),
        .text("key_id", \.keyId),
        .text("key_prefix", \.keyPrefix, output: JSONSchema.string("Everything before the secret part")),
        ResourceField(
            "key_type", create: .none, update: .none, input: nil,
            output: JSONSchema.string(values: ["standard", "test", "access_key"]),
            show: { .string($0.keyType.rawValue) }, store: { .text($0.keyType.rawValue) },
            load: { k, v in k.keyType = v.text.flatMap(Kind.init(rawValue:)) ?? .standard }),
        .text("name", \.name),
        // The hash of the key: kept to recognise it, never part of any answer.
        ResourceField(
            "key_hash", create: .none, update: .none, input: nil, output: nil, store: { .bytes($0.keyHash) },
            load: { k, v in k.keyHash = v.bytes ?? [] }),
        ResourceField(
            "active", create: .none, update: .none, input: nil, output: JSONSchema.boolean(),
            show: { .bool($0.active) }),
        .optionalTime("revoked_at", \.revokedAt),
        .time("created_at", \.createdAt),
        .optionalTime("last_used_at", \.lastUsedAt),
        .optionalTime("expires_at", \.expiresAt),
        .optionalInteger("rate_limit_requests", \.rateLimitRequests),
        .optionalInteger("rate_limit_window_sec", \.rateLimitWindowSec),
        .strings("role_ids", \.roleIds, output: JSONSchema.array(JSONSchema.uuid())),
        .optionalStrings("scopes", \.scopes, output: JSONSchema.array(JSONSchema.string(), nullable: true)),
        .optionalText("created_by", \.createdBy),
        .flag("require_dpop", \.requireDpop),
        .strings(
            "redirect_uris", \.redirectUris, output: JSONSchema.array(JSONSchema.string(), nullable: true),
            emptyIsNull: true),
    ]

    /// A key with nothing set, for a table to fill (a store row).
    public static func blank() -> ApiKey {
        ApiKey(id: "", keyId: "", keyPrefix: "", keyType: .standard, name: "", keyHash: [], createdAt: 0)
    }
}
