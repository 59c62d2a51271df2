import KnoxCore
import KnoxStore

extension Mutation {
    /// Resolves every `{{secret:…}}` / `{{secret_id:…}}` placeholder in `settings` (and the signing secret) against
    /// the secrets table. An unknown secret is a `validation_error` naming the field and the placeholder.
    func secretRefs(in settings: RouteSettings, fieldPrefix: String = "")
        throws -> [(field: String, secretId: String, byName: Bool)]
    {
        var refs: [(field: String, secretId: String, byName: Bool)] = []
        for (path, text) in settings.templateStrings() {
            let field = fieldPrefix + path
            let occurrences: [TemplateOccurrence]
            do {
                occurrences = try SecretTemplate.scan(text)
            } catch {
                throw ApiError.refused(
                    field,
                    "\(error.placeholder.prefix(80)) is not a valid placeholder; use {{secret:NAME}} or {{secret_id:UUID}}",
                    .invalidPlaceholder)
            }
            for occurrence in occurrences {
                switch occurrence.reference {
                case .name(let name):
                    guard let secret = try access.secret(name: name) else {
                        throw ApiError.refused(
                            field, "unknown secret \"\(name)\" in \(occurrence.reference)", .unknownReference)
                    }
                    refs.append((field, secret.id, true))
                case .id(let id):
                    guard let secret = try access.secret(id: id) else {
                        throw ApiError.refused(
                            field, "unknown secret id \(id) in \(occurrence.reference)", .unknownReference)
                    }
                    refs.append((field, secret.id, false))
                }
            }
        }
        for (i, entry) in (settings.callableSecrets ?? []).enumerated() {
            let field = fieldPrefix + "callable_secrets[\(i)]"
            if Identifier.isUUID(entry) {
                guard let secret = try access.secret(id: entry) else {
                    throw ApiError.refused(field, "unknown secret id \(entry)", .unknownReference)
                }
                refs.append((field, secret.id, false))
            } else {
                guard let secret = try access.secret(name: entry) else {
                    throw ApiError.refused(field, "unknown secret \"\(entry)\"", .unknownReference)
                }
                refs.append((field, secret.id, true))
            }
        }
        if let signing = settings.signingSecretId {
            let field = fieldPrefix + "signing_secret_id"
            guard let secret = try access.secret(id: signing) else {
                throw ApiError.refused(field, "unknown secret id \(signing)", .unknownReference)
            }
            guard secret.secretType == .string else {
                throw ApiError.refused(
                    field, "must name a string secret (\(secret.name) is \(secret.secretType.rawValue))",
                    .unknownReference)
            }
            refs.append((field, secret.id, false))
        }
        return refs
    }

    /// Checks the rules that span fields, on the settings that will apply in one environment.
    func checkEffective(_ s: RouteSettings, environment: String, isBase: Bool) throws {
        let prefix = isBase ? "" : "environments.\(environment)."
        if s.targetBaseURL == nil {
            throw ApiError.refused(prefix + "target_base_url", "is required", .fieldCombination)
        }
        if s.requireSignature == true, s.signingSecretId == nil {
            throw ApiError.refused(
                prefix + "signing_secret_id",
                "is required when require_signature is true (the string secret that keys the HMAC)",
                .fieldCombination)
        }
        if s.rateLimitEnabled == true {
            if s.rateLimitRequests == nil {
                throw ApiError.refused(
                    prefix + "rate_limit_requests", "is required when rate_limit_enabled is true", .fieldCombination)
            }
            if s.rateLimitWindowSec == nil {
                throw ApiError.refused(
                    prefix + "rate_limit_window_sec", "is required when rate_limit_enabled is true", .fieldCombination)
            }
        }
    }

    /// The environment named `name`, or a `validation_error` on `field`.
    func existingEnvironment(_ name: String, field: String) throws -> Environment {
        guard let env = try access.environment(name), env.name == name else {
            throw ApiError.refused(
                field, "no environment named \"\(name.prefix(63))\"; create it with POST /v1/environments",
                .unknownReference)
        }
        return env
    }

    /// The default environment's name (`production` unless another was made default).
    func defaultEnvironmentName() throws -> String {
        try access.environments().first(where: \.isDefault)?.name ?? Environment.production
    }
}
