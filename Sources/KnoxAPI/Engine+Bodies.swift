import KnoxCore
import KnoxEngine
import KnoxStore

/// The REST face of the engine's mutations: after the permission (so a caller without it learns nothing from a bad
/// body), the JSON body is checked into the typed input the handler takes (`Change<Route>`, `SecretValueInput`…),
/// and the handler answers its typed value beside the wire JSON. The console builds the same inputs.
extension Engine {
    /// `POST /v1/routes`.
    public func createRoute(_ body: JSONValue, _ ctx: RequestContext) async throws -> MutationResult<RouteView> {
        try require("routes:write", ctx.actor)
        return try await createRoute(.create(body), ctx)
    }

    /// `PATCH /v1/routes/:id`.
    public func updateRoute(_ id: String, _ body: JSONValue, _ ctx: RequestContext) async throws
        -> MutationResult<RouteView>
    {
        try require("routes:write", ctx.actor)
        return try await updateRoute(id, .update(body), ctx)
    }

    /// `PUT /v1/routes/:id/environments/:env`.
    public func putRouteEnvironment(_ id: String, _ environment: String, _ body: JSONValue?, _ ctx: RequestContext)
        async throws -> MutationResult<RouteEnvironmentDetail>
    {
        try require("routes:write", ctx.actor)
        return try await putRouteEnvironment(id, environment, .environment(body), ctx)
    }

    /// `PUT /v1/routes/:id/clients/:client_id`.
    public func assignClient(_ routeId: String, _ clientId: String, _ body: JSONValue?, _ ctx: RequestContext)
        async throws -> MutationResult<AssignmentDetail?>
    {
        try require("routes:write", ctx.actor)
        return try await assignClient(routeId, clientId, AssignmentInput(body), ctx)
    }

    /// `DELETE /v1/routes/:id/clients/:client_id` (`environment`: the query's).
    public func unassignClient(
        _ routeId: String, _ clientId: String, environment: String?, _ body: JSONValue?, _ ctx: RequestContext
    ) async throws -> MutationResult<Removal> {
        try require("routes:write", ctx.actor)
        return try await unassignClient(routeId, clientId, AssignmentInput(body, queryEnvironment: environment), ctx)
    }

    /// `POST /v1/secrets` (`/v1/secrets/oauth2` and `/v1/secrets/certificate` with `forcedType`).
    public func createSecret(_ body: JSONValue, forcedType: Secret.Kind? = nil, _ ctx: RequestContext) async throws
        -> MutationResult<SecretSummary>
    {
        try require("secrets:write", ctx.actor)
        return try await createSecret(.create(body, forcedType: forcedType), ctx)
    }

    /// `PATCH /v1/secrets/:id`.
    public func updateSecret(_ id: String, _ body: JSONValue, _ ctx: RequestContext) async throws
        -> MutationResult<SecretSummary>
    {
        try require("secrets:write", ctx.actor)
        return try await updateSecret(id, .update(body), ctx)
    }

    /// `PUT /v1/secrets/:id/value` (`environment`: the query's).
    public func setSecretValue(_ id: String, environment: String?, _ body: JSONValue, _ ctx: RequestContext)
        async throws -> MutationResult<StoredSecretValue>
    {
        try require("secrets:write", ctx.actor)
        return try await setSecretValue(id, SecretValueInput(body, queryEnvironment: environment), ctx)
    }

    /// `POST /v1/clients`.
    public func createClient(_ body: JSONValue, _ ctx: RequestContext) async throws -> MutationResult<Client> {
        try require("clients:write", ctx.actor)
        return try await createClient(.create(body), ctx)
    }

    /// `PATCH /v1/clients/:id`.
    public func updateClient(_ id: String, _ body: JSONValue, _ ctx: RequestContext) async throws
        -> MutationResult<Client>
    {
        try require("clients:write", ctx.actor)
        return try await updateClient(id, .update(body), ctx)
    }

    /// `POST /v1/environments`.
    public func createEnvironment(_ body: JSONValue, _ ctx: RequestContext) async throws
        -> MutationResult<Environment>
    {
        try require("environments:write", ctx.actor)
        return try await createEnvironment(.create(body), ctx)
    }

    /// `PATCH /v1/environments/:id`.
    public func updateEnvironment(_ id: String, _ body: JSONValue, _ ctx: RequestContext) async throws
        -> MutationResult<Environment>
    {
        try require("environments:write", ctx.actor)
        return try await updateEnvironment(id, .update(body), ctx)
    }

    /// `POST /v1/api-keys`.
    public func createApiKey(_ body: JSONValue, _ ctx: RequestContext) async throws -> MutationResult<CreatedApiKey> {
        try require("api_keys:write", ctx.actor)
        return try await createApiKey(.create(body), ctx)
    }
}
