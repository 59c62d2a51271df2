import KnoxCore
import KnoxEngine

extension Operations {
    static let clients: [Operation] = [
        Operation(
            "GET", "/v1/clients", id: "listClients", "List clients", tag: "Clients", query: Engine.clientQuery,
            response: "Client", kind: .page
        ) {
            i in .page(try await i.engine.listClients(i.query, actor: i.actor))
        },
        Operation(
            "POST", "/v1/clients", id: "createClient", "Create a client", tag: "Clients", body: .required,
            request: "ClientCreate", response: "Client", kind: .single(status: 201)
        ) { i in .mutation(try await i.engine.createClient(try i.requiredBody(), i.context).answer) },
        Operation(
            "GET", "/v1/clients/{id}", id: "getClient", "Get a client with its route assignments", tag: "Clients",
            response: "Client"
        ) { i in .single(try await i.engine.getClient(i.parameter("id"), actor: i.actor)) },
        Operation(
            "PATCH", "/v1/clients/{id}", id: "updateClient", "Update a client", tag: "Clients", body: .required,
            request: "ClientUpdate", response: "Client"
        ) { i in .mutation(try await i.engine.updateClient(i.parameter("id"), try i.requiredBody(), i.context).answer)
        },
        Operation(
            "DELETE", "/v1/clients/{id}", id: "deleteClient", "Delete a client and its assignments", tag: "Clients",
            response: "Deleted"
        ) { i in .mutation(try await i.engine.deleteClient(i.parameter("id"), i.context).answer) },
    ]

    static let environments: [Operation] = [
        Operation(
            "GET", "/v1/environments", id: "listEnvironments", "List environments", tag: "Environments",
            response: "Environment", kind: .list
        ) { i in .single(try await i.engine.listEnvironments(i.query, actor: i.actor)) },
        Operation(
            "POST", "/v1/environments", id: "createEnvironment", "Create an environment", tag: "Environments",
            body: .required, request: "EnvironmentCreate", response: "Environment", kind: .single(status: 201)
        ) { i in .mutation(try await i.engine.createEnvironment(try i.requiredBody(), i.context).answer) },
        Operation(
            "GET", "/v1/environments/{id}", id: "getEnvironment", "Get an environment (by id or name)",
            tag: "Environments", response: "Environment"
        ) { i in .single(try await i.engine.getEnvironment(i.parameter("id"), actor: i.actor)) },
        Operation(
            "PATCH", "/v1/environments/{id}", id: "updateEnvironment", "Update an environment", tag: "Environments",
            body: .required, request: "EnvironmentUpdate", response: "Environment"
        ) { i in
            .mutation(try await i.engine.updateEnvironment(i.parameter("id"), try i.requiredBody(), i.context).answer)
        },
        Operation(
            "DELETE", "/v1/environments/{id}", id: "deleteEnvironment",
            "Delete an environment (never production; refused while in use)", tag: "Environments", response: "Deleted"
        ) { i in .mutation(try await i.engine.deleteEnvironment(i.parameter("id"), i.context).answer) },
    ]

    static let apiKeys: [Operation] = [
        Operation(
            "GET", "/v1/api-keys", id: "listApiKeys", "List API keys (masked)", tag: "API keys",
            query: Engine.apiKeyQuery, response: "ApiKey",
            kind: .page
        ) { i in .page(try await i.engine.listApiKeys(i.query, actor: i.actor)) },
        Operation(
            "POST", "/v1/api-keys", id: "createApiKey", "Create an API key (shown once)", tag: "API keys",
            body: .required, request: "ApiKeyCreate", response: "ApiKeyCreated", kind: .single(status: 201)
        ) { i in .mutation(try await i.engine.createApiKey(try i.requiredBody(), i.context).answer) },
        Operation(
            "GET", "/v1/api-keys/{id}", id: "getApiKey", "Get an API key (masked)", tag: "API keys", response: "ApiKey"
        ) { i in .single(try await i.engine.getApiKey(i.parameter("id"), actor: i.actor)) },
        Operation(
            "DELETE", "/v1/api-keys/{id}", id: "revokeApiKey", "Revoke an API key", tag: "API keys", response: "Revoked"
        ) { i in .mutation(try await i.engine.revokeApiKey(i.parameter("id"), i.context).answer) },
        Operation(
            "GET", "/v1/roles", id: "listRoles", "List the seeded key roles", tag: "API keys", query: Engine.roleQuery,
            response: "Role",
            kind: .page
        ) {
            i in .page(try i.engine.listRoles(i.query))
        },
    ]

    static let logs: [Operation] = [
        Operation(
            "GET", "/v1/audit-logs", id: "listAuditLogs", "List audit log entries, newest first", tag: "Audit logs",
            query: Engine.auditLogQuery,
            response: "AuditLogEntry", kind: .page
        ) { i in .page(try await i.engine.listAuditLogs(i.query, actor: i.actor)) },
        Operation(
            "GET", "/v1/audit-logs/events", id: "listAuditEvents", "Audit event feed (keyset, oldest first)",
            tag: "Audit logs", query: Engine.auditEventQuery, response: "AuditLogEntry", kind: .feed
        ) { i in .feed(try await i.engine.auditEvents(i.query, actor: i.actor), dedupeOn: "id") },
        Operation(
            "GET", "/v1/logs", id: "listRequestLogs", "Tenant-wide request log feed (keyset, oldest first)",
            tag: "Logs", query: Engine.requestLogQuery, response: "RequestLog", kind: .feed
        ) { i in .feed(try await i.engine.requestLogFeed(i.query, actor: i.actor), dedupeOn: "request_id") },
        Operation(
            "GET", "/v1/logs/{request_id}", id: "getRequestLog", "Get one request log entry", tag: "Logs",
            response: "RequestLog"
        ) { i in .single(try await i.engine.requestLog(i.parameter("request_id"), actor: i.actor)) },
    ]

    static let account: [Operation] = [
        Operation("GET", "/v1/account", id: "getAccount", "Get the account", tag: "Account", response: "Account") {
            i in .single(try await i.engine.account())
        },
        Operation(
            "GET", "/v1/account/usage", id: "getAccountUsage", "Get usage against the configured quotas",
            tag: "Account", response: "AccountUsage"
        ) { i in .single(try await i.engine.accountUsage()) },
    ]

    static let meta: [Operation] = [
        Operation(
            "GET", "/v1/openapi.json", id: "getOpenAPIDocument", "This API's OpenAPI 3.1 document", tag: "Meta",
            auth: false, response: "OpenAPIDocument", kind: .document
        ) { _ in .document(OpenAPIDocument.document) }
    ]
}
