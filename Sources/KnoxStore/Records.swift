import Foundation
import GRDB
import KnoxCore

// One mapping a table: `init(row:)` reads a row, `encode(to:)` writes one. Column names are the API's field names.

extension Environment: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "environments"

    public init(row: Row) throws {
        self = Environment.blank()
        for field in Environment.fields where field.isStored {
            field.load(StoredValue(row[field.name] as DatabaseValue), into: &self)
        }
    }

    public func encode(to container: inout PersistenceContainer) throws {
        for field in Environment.fields where field.isStored {
            container[field.name] = field.stored(self).databaseValue
        }
    }
}

extension Route: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "routes"

    public init(row: Row) throws {
        self = Route.blank()
        for field in Route.fields where field.isStored {
            field.load(StoredValue(row[field.name] as DatabaseValue), into: &self)
        }
    }

    public func encode(to container: inout PersistenceContainer) throws {
        for field in Route.fields where field.isStored { container[field.name] = field.stored(self).databaseValue }
    }
}

extension RouteEnvironmentConfig: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "route_environment_configs"

    public init(row: Row) throws {
        var s = RouteSettings()
        for field in RouteSettings.fields where field.isStored {
            field.load(StoredValue(row[field.name] as DatabaseValue), into: &s)
        }
        self.init(
            id: row["id"], routeId: row["route_id"], environmentName: row["environment_name"], settings: s,
            createdAt: row["created_at"], updatedAt: row["updated_at"])
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["route_id"] = routeId
        container["environment_name"] = environmentName
        for field in RouteSettings.fields where field.isStored {
            container[field.name] = field.stored(settings).databaseValue
        }
        container["created_at"] = createdAt
        container["updated_at"] = updatedAt
    }
}

extension StoredValue {
    /// A column's value as a setting descriptor takes it (a real, which no setting uses, reads as null).
    init(_ value: DatabaseValue) {
        switch value.storage {
        case .int64(let v): self = .integer(v)
        case .string(let v): self = .text(v)
        case .blob(let v): self = .bytes(Array(v))
        default: self = .null
        }
    }

    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let v): v.databaseValue
        case .text(let v): v.databaseValue
        case .bytes(let v): Data(v).databaseValue
        }
    }
}

extension Secret: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "secrets"

    public init(row: Row) throws {
        self = Secret.blank()
        for field in Secret.fields where field.isStored {
            field.load(StoredValue(row[field.name] as DatabaseValue), into: &self)
        }
    }

    public func encode(to container: inout PersistenceContainer) throws {
        for field in Secret.fields where field.isStored { container[field.name] = field.stored(self).databaseValue }
    }
}

extension SealedSecretValue: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "secret_values"

    public init(row: Row) throws {
        let data: Data = row["ciphertext"]
        self.init(
            secretId: row["secret_id"], environmentName: row["environment_name"], ciphertext: Array(data),
            valueVersion: row["value_version"], updatedAt: row["updated_at"])
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["secret_id"] = secretId
        container["environment_name"] = environmentName
        container["ciphertext"] = Data(ciphertext)
        container["value_version"] = valueVersion
        container["updated_at"] = updatedAt
    }
}

extension Client: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "clients"

    public init(row: Row) throws {
        self = Client.blank()
        for field in Client.fields where field.isStored {
            field.load(StoredValue(row[field.name] as DatabaseValue), into: &self)
        }
    }

    public func encode(to container: inout PersistenceContainer) throws {
        for field in Client.fields where field.isStored { container[field.name] = field.stored(self).databaseValue }
    }
}

extension ClientAssignment: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "route_clients"

    public init(row: Row) throws {
        self.init(
            routeId: row["route_id"], clientId: row["client_id"], environmentName: row["environment_name"],
            createdAt: row["created_at"])
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["route_id"] = routeId
        container["client_id"] = clientId
        container["environment_name"] = environmentName
        container["created_at"] = createdAt
    }
}

extension ApiKey: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "api_keys"

    public init(row: Row) throws {
        self = ApiKey.blank()
        for field in ApiKey.fields where field.isStored {
            field.load(StoredValue(row[field.name] as DatabaseValue), into: &self)
        }
    }

    public func encode(to container: inout PersistenceContainer) throws {
        for field in ApiKey.fields where field.isStored { container[field.name] = field.stored(self).databaseValue }
    }
}

extension AuditEntry: FetchableRecord {
    public init(row: Row) throws {
        self.init(
            id: row["id"], seq: row["seq"], action: row["action"], resourceType: row["resource_type"],
            resourceId: row["resource_id"], details: jsonObject(row["details"]) ?? JSONObject(),
            ipAddress: row["ip_address"], actor: row["actor"], apiKeyId: row["api_key_id"],
            createdAt: row["created_at"])
    }
}

extension RequestLogEntry: FetchableRecord {
    public init(row: Row) throws {
        self.init(
            seq: row["seq"], requestId: row["request_id"], routeId: row["route_id"], ts: row["ts"],
            srcIp: row["src_ip"], method: row["method"], path: row["path"], statusCode: row["status_code"],
            latencyMs: row["latency_ms"], upstreamLatencyMs: row["upstream_latency_ms"],
            upstreamHost: row["upstream_host"], upstreamStatus: row["upstream_status"], error: row["error"],
            environment: row["environment"], rateLimited: row["rate_limited"], signatureValid: row["signature_valid"],
            matchedClientId: row["matched_client_id"], identificationMethod: row["identification_method"],
            apiKeyId: row["api_key_id"], proxyMode: row["proxy_mode"], clientOrigin: row["client_origin"],
            requestHeaders: row["request_headers"])
    }
}

extension OAuthToken: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "oauth_tokens"

    public init(row: Row) throws {
        let kind: String = row["kind"]
        let scope: String = row["scope"]
        self.init(
            id: row["id"], tokenHash: row["token_hash"], kind: OAuthToken.Kind(rawValue: kind) ?? .access,
            apiKeyId: row["api_key_id"], familyId: row["family_id"],
            scope: scope.split(separator: " ").map(String.init), jkt: row["jkt"], grantType: row["grant_type"],
            createdAt: row["created_at"], expiresAt: row["expires_at"], usedAt: row["used_at"],
            revokedAt: row["revoked_at"], subject: row["subject"], issuer: row["issuer"])
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["token_hash"] = tokenHash
        container["kind"] = kind.rawValue
        container["api_key_id"] = apiKeyId
        container["subject"] = subject
        container["issuer"] = issuer
        container["family_id"] = familyId
        container["scope"] = scope.joined(separator: " ")
        container["jkt"] = jkt
        container["grant_type"] = grantType
        container["created_at"] = createdAt
        container["expires_at"] = expiresAt
        container["used_at"] = usedAt
        container["revoked_at"] = revokedAt
    }
}

extension OAuthAuthorization: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "oauth_authorizations"

    public init(row: Row) throws {
        let status: String = row["status"]
        let scope: String = row["scope"]
        self.init(
            id: row["id"], apiKeyId: row["api_key_id"], redirectUri: row["redirect_uri"], state: row["state"],
            codeChallenge: row["code_challenge"], scope: scope.split(separator: " ").map(String.init),
            status: OAuthAuthorization.Status(rawValue: status) ?? .denied, codeHash: row["code_hash"],
            familyId: row["family_id"], decidedBy: row["decided_by"], createdAt: row["created_at"],
            expiresAt: row["expires_at"])
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["api_key_id"] = apiKeyId
        container["redirect_uri"] = redirectUri
        container["state"] = state
        container["code_challenge"] = codeChallenge
        container["scope"] = scope.joined(separator: " ")
        container["status"] = status.rawValue
        container["code_hash"] = codeHash
        container["family_id"] = familyId
        container["decided_by"] = decidedBy
        container["created_at"] = createdAt
        container["expires_at"] = expiresAt
    }
}
