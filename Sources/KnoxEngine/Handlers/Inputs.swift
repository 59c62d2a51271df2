import KnoxCore

/// The bodies the mutation handlers take, checked at the edge (the REST face and the console build them the same
/// way): each names its resource, so a body cannot reach another resource's handler, and every message is the one the
/// handlers' readers give.

extension Change where Root == Route {
    /// `POST /v1/routes`: the route's own fields and its base environment's settings.
    public static func create(_ json: JSONValue) throws(ApiError) -> Self {
        try Self(json, allowed: Engine.routeFieldsOnCreate.union(RouteSettingsReader.fields))
    }

    /// `PATCH /v1/routes/:id`.
    public static func update(_ json: JSONValue) throws(ApiError) -> Self {
        try Self(json, allowed: Engine.routeFieldsOnUpdate.union(RouteSettingsReader.fields))
    }
}

extension Change where Root == RouteSettings {
    /// `PUT /v1/routes/:id/environments/:env` (no body: an empty override).
    public static func environment(_ json: JSONValue?) throws(ApiError) -> Self {
        try Self(json ?? .object(JSONObject()), allowed: RouteSettings.environmentBodyFieldNames)
    }
}

extension Change where Root == Client {
    /// `POST /v1/clients`.
    public static func create(_ json: JSONValue) throws(ApiError) -> Self {
        try Self(json, allowed: Engine.clientFields)
    }
    /// `PATCH /v1/clients/:id`.
    public static func update(_ json: JSONValue) throws(ApiError) -> Self {
        try Self(json, allowed: Engine.clientFields)
    }
}

extension Change where Root == Environment {
    /// `POST /v1/environments`.
    public static func create(_ json: JSONValue) throws(ApiError) -> Self {
        try Self(json, allowed: Engine.environmentFields)
    }
    /// `PATCH /v1/environments/:id`.
    public static func update(_ json: JSONValue) throws(ApiError) -> Self {
        try Self(json, allowed: Engine.environmentFields)
    }
}

extension Change where Root == ApiKey {
    /// `POST /v1/api-keys`.
    public static func create(_ json: JSONValue) throws(ApiError) -> Self {
        try Self(json, allowed: Engine.apiKeyCreateFields)
    }
}

extension Change where Root == Secret {
    /// `POST /v1/secrets` (`forcedType`: the type `/v1/secrets/oauth2` and `/v1/secrets/certificate` stand for).
    /// The type decides which fields are valid, so it is checked before anything else.
    public static func create(_ json: JSONValue, forcedType: Secret.Kind? = nil) throws(ApiError) -> Self {
        let requestedType = forcedType?.rawValue ?? json["secret_type"]?.stringValue ?? "string"
        if let raw = json["secret_type"], raw.stringValue == nil, forcedType == nil, !raw.isNull {
            throw ApiError.invalid("secret_type", "must be a string (got \(raw.typeName))")
        }
        switch requestedType {
        case _ where Engine.stringSecretAliases.contains(requestedType): break
        case "oauth2", "oauth2_token":
            throw ApiError.invalid(
                "secret_type",
                "oauth2 secrets are not available in this version yet; create a string secret holding the token")
        case "certificate":
            throw ApiError.invalid("secret_type", "certificate secrets are not available in this version yet")
        default:
            throw ApiError.invalid(
                "secret_type",
                "must be string (or api_key, basic_auth, custom), oauth2 or certificate (got \"\(requestedType.prefix(32))\")"
            )
        }
        return try Self(json, allowed: Engine.secretCreateFields)
    }

    /// `PATCH /v1/secrets/:id`: metadata only.
    public static func update(_ json: JSONValue) throws(ApiError) -> Self {
        try Self(json, allowed: Engine.secretUpdateFields)
    }
}

/// `PUT /v1/secrets/:id/value`: the value, and the environment it is for (nil: the secret's base environment).
public struct SecretValueInput: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: SecretValue
    public let environment: String?

    /// `{"value": …, "environment"?: …}`; `queryEnvironment` (`?environment=`) stands in when the body names none.
    public init(_ json: JSONValue, queryEnvironment: String? = nil) throws(ApiError) {
        let r = try FieldReader(body: json, allowed: ["value", "environment"])
        guard let text = try r.string("value").value else { throw ApiError.invalid("value", "is required") }
        try Engine.checkSecretValue(text)
        value = SecretValue(text)
        environment = try r.text("environment", maxLength: 63).value ?? queryEnvironment
    }

    public var description: String { "SecretValueInput(environment: \(environment ?? "base"))" }
    public var debugDescription: String { description }
}

/// `PUT` and `DELETE /v1/routes/:id/clients/:client_id`: the environment of the assignment (nil: the route's base).
public struct AssignmentInput: Sendable, Equatable {
    public let environment: String?

    public init(environment: String? = nil) { self.environment = environment }

    /// `{"environment"?: …}` or no body; `queryEnvironment` (`?environment=`) stands in when the body names none.
    public init(_ json: JSONValue?, queryEnvironment: String? = nil) throws(ApiError) {
        let r = try FieldReader(body: json ?? .object(JSONObject()), allowed: ["environment"])
        environment = try r.text("environment", maxLength: 63).value ?? queryEnvironment
    }
}
