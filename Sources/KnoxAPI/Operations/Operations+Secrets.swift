import KnoxCore
import KnoxEngine

extension Operations {
    static let secrets: [Operation] = [
        Operation(
            "GET", "/v1/secrets", id: "listSecrets", "List secrets (metadata only)", tag: "Secrets",
            query: Engine.secretQuery, response: "Secret",
            kind: .page
        ) { i in .page(try await i.engine.listSecrets(i.query, actor: i.actor)) },
        Operation(
            "POST", "/v1/secrets", id: "createSecret", "Create a secret", tag: "Secrets", body: .required,
            request: "SecretCreate", response: "Secret", kind: .single(status: 201)
        ) { i in .mutation(try await i.engine.createSecret(try i.requiredBody(), i.context).answer) },
        Operation(
            "POST", "/v1/secrets/oauth2", id: "createOAuth2Secret", "Create an OAuth2 secret (not available yet)",
            tag: "Secrets", body: .required, request: "SecretCreate", response: "Secret", kind: .single(status: 201),
            documented: false
        ) { i in .mutation(try await i.engine.createSecret(try i.requiredBody(), forcedType: .oauth2, i.context).answer)
        },
        Operation(
            "POST", "/v1/secrets/certificate", id: "createCertificateSecret",
            "Create a certificate secret (not available yet)", tag: "Secrets", body: .required,
            request: "SecretCreate", response: "Secret", kind: .single(status: 201), documented: false
        ) { i in
            .mutation(try await i.engine.createSecret(try i.requiredBody(), forcedType: .certificate, i.context).answer)
        },
        Operation(
            "GET", "/v1/secrets/{id}", id: "getSecret", "Get a secret's metadata", tag: "Secrets", response: "Secret"
        ) { i in .single(try await i.engine.getSecret(i.parameter("id"), actor: i.actor)) },
        Operation(
            "PATCH", "/v1/secrets/{id}", id: "updateSecret", "Update a secret's metadata", tag: "Secrets",
            body: .required, request: "SecretUpdate", response: "Secret"
        ) { i in .mutation(try await i.engine.updateSecret(i.parameter("id"), try i.requiredBody(), i.context).answer)
        },
        Operation(
            "DELETE", "/v1/secrets/{id}", id: "deleteSecret", "Delete a secret (refused while in use)",
            tag: "Secrets", response: "Deleted"
        ) { i in .mutation(try await i.engine.deleteSecret(i.parameter("id"), i.context).answer) },
        Operation(
            "PUT", "/v1/secrets/{id}/value", id: "setSecretValue", "Set a secret's value (optionally per environment)",
            tag: "Secrets", query: .environment("Target environment (default: base)"), body: .required,
            request: "SecretValueInput", response: "SecretValueResult"
        ) { i in
            .mutation(
                try await i.engine.setSecretValue(
                    i.parameter("id"), environment: i.query["environment"], try i.requiredBody(), i.context
                ).answer)
        },
        Operation(
            "GET", "/v1/secrets/{id}/oauth2/token", id: "getSecretOAuth2Token",
            "Get an OAuth2 secret's access token", tag: "Secrets",
            query: .environment("Target environment (default: base)"), response: "SecretOAuthToken", documented: false
        ) { i in .single(try await i.engine.secretOAuthToken(i.parameter("id"), actor: i.actor)) },
    ]
}
