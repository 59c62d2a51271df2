import GRDB
import KnoxCore

/// The schema, as versioned migrations. A migration's id is permanent: never edit one that has landed;
/// add a new one.
enum Migrations {
    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("2026-11-22-v1-schema") { db in
            try db.execute(sql: v1)
        }
        // Every index costs the request-log writer a B-tree insert per row; retention finds its cutoff by seq instead.
        migrator.registerMigration("2026-11-22-v2-drop-request-log-ts-index") { db in
            try db.execute(sql: "DROP INDEX IF EXISTS api_requests_ts")
        }
        migrator.registerMigration("2026-11-23-v3-request-log-headers") { db in
            try db.execute(sql: "ALTER TABLE api_requests ADD COLUMN request_headers TEXT")
        }
        migrator.registerMigration("2026-11-23-v4-oauth-tokens") { db in
            try db.execute(sql: v4)
        }
        migrator.registerMigration("2026-11-23-v5-api-key-require-dpop") { db in
            try db.execute(
                sql:
                    "ALTER TABLE api_keys ADD COLUMN require_dpop INTEGER NOT NULL DEFAULT 0 CHECK (require_dpop IN (0, 1))"
            )
        }
        migrator.registerMigration("2026-11-23-v6-oauth-authorization-code") { db in
            try db.execute(sql: v6)
        }
        migrator.registerMigration("2026-12-01-v7-request-log-chunks") { db in
            try db.execute(sql: v7)
            try RequestLogChunkMigration.moveRows(db)
        }
        // Issue 20: which secrets a caller's body may name, and encoded slashes in a caller's path (both per
        // environment). Existing rows: none and no (NULL on an override row inherits the base, as for other fields).
        migrator.registerMigration("2026-12-02-v8-route-caller-secrets-and-paths") { db in
            try db.execute(sql: v8)
        }
        return migrator
    }

    static let v8 = """
        ALTER TABLE route_environment_configs ADD COLUMN callable_secrets TEXT;
        ALTER TABLE route_environment_configs ADD COLUMN allow_encoded_slashes INTEGER
            CHECK (allow_encoded_slashes IN (0, 1));
        """

    /// The authorization-code grant: redirect URIs per client (key), and authorization requests waiting for the
    /// operator's decision. The code is stored only as a hash, once issued to the browser that asked.
    static let v6 = """
        ALTER TABLE api_keys ADD COLUMN redirect_uris TEXT;
        CREATE TABLE oauth_authorizations (
            id TEXT PRIMARY KEY NOT NULL,
            api_key_id TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
            redirect_uri TEXT NOT NULL,
            state TEXT,
            code_challenge TEXT NOT NULL CHECK (length(code_challenge) = 43),
            scope TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'code_issued', 'redeemed')),
            code_hash TEXT UNIQUE,
            family_id TEXT,
            decided_by TEXT,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        );
        CREATE INDEX oauth_authorizations_status ON oauth_authorizations(status, expires_at);
        """

    /// OAuth tokens (issue 6): only hashes; a token dies with its key (ON DELETE CASCADE, and revocation is checked
    /// against the key at every use). Workload-identity tokens have no key: an issuer and a subject instead.
    static let v4 = """
        CREATE TABLE oauth_tokens (
            id TEXT PRIMARY KEY NOT NULL,
            token_hash TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
            kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
            api_key_id TEXT REFERENCES api_keys(id) ON DELETE CASCADE,
            subject TEXT,
            issuer TEXT,
            family_id TEXT NOT NULL,
            scope TEXT NOT NULL,
            jkt TEXT,
            grant_type TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            used_at INTEGER,
            revoked_at INTEGER,
            CHECK (api_key_id IS NOT NULL OR (subject IS NOT NULL AND issuer IS NOT NULL))
        );
        CREATE INDEX oauth_tokens_key ON oauth_tokens(api_key_id);
        CREATE INDEX oauth_tokens_family ON oauth_tokens(family_id);
        CREATE INDEX oauth_tokens_live ON oauth_tokens(kind, expires_at) WHERE revoked_at IS NULL;

        -- Workload-identity assertions already exchanged (single use), kept until they expire.
        CREATE TABLE oauth_used_assertions (
            assertion_hash TEXT PRIMARY KEY NOT NULL CHECK (length(assertion_hash) = 64),
            expires_at INTEGER NOT NULL
        );
        """

    // Invariants live in the schema: NOT NULL, UNIQUE, CHECK and foreign keys (enforced: foreign_keys=ON).
    // A secret referenced by a route cannot be deleted (route_secret_refs … ON DELETE RESTRICT).
    static let v1 = """
        CREATE TABLE meta (
            key TEXT PRIMARY KEY NOT NULL,
            value TEXT NOT NULL
        );

        CREATE TABLE config_version (
            id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
            version INTEGER NOT NULL
        );
        INSERT INTO config_version (id, version) VALUES (1, 1);

        CREATE TABLE environments (
            id TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 63),
            display_name TEXT NOT NULL,
            description TEXT,
            color TEXT NOT NULL,
            is_default INTEGER NOT NULL CHECK (is_default IN (0, 1)),
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );

        CREATE TABLE routes (
            id TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL UNIQUE,
            slug TEXT NOT NULL UNIQUE CHECK (length(slug) BETWEEN 1 AND 63),
            enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
            requires_clients INTEGER NOT NULL CHECK (requires_clients IN (0, 1)),
            base_environment TEXT NOT NULL REFERENCES environments(name),
            collection_id TEXT,
            mtls_certificate_id TEXT,
            egress_server_id TEXT,
            data_plane_node_id TEXT,
            intercept_enabled INTEGER NOT NULL CHECK (intercept_enabled IN (0, 1)),
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );

        CREATE TABLE route_environment_configs (
            id TEXT PRIMARY KEY NOT NULL,
            route_id TEXT NOT NULL REFERENCES routes(id) ON DELETE CASCADE,
            environment_name TEXT NOT NULL REFERENCES environments(name),
            target_base_url TEXT,
            inject_headers_json TEXT,
            inject_body_json TEXT,
            ip_allowlist TEXT,
            require_signature INTEGER,
            signature_tolerance_sec INTEGER CHECK (signature_tolerance_sec > 0),
            signing_secret_id TEXT REFERENCES secrets(id),
            rate_limit_enabled INTEGER,
            rate_limit_requests INTEGER CHECK (rate_limit_requests > 0),
            rate_limit_window_sec INTEGER CHECK (rate_limit_window_sec > 0),
            rate_limit_burst INTEGER CHECK (rate_limit_burst > 0),
            allowed_methods TEXT,
            http_method_restrictions_enabled INTEGER,
            method_configs TEXT,
            use_method_specific_configs INTEGER,
            payload_structure TEXT,
            upstream_timeout_sec INTEGER CHECK (upstream_timeout_sec > 0),
            enabled INTEGER,
            intercept_enabled INTEGER,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            UNIQUE (route_id, environment_name)
        );

        CREATE TABLE secrets (
            id TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL UNIQUE,
            secret_type TEXT NOT NULL CHECK (secret_type IN ('string', 'oauth2', 'certificate')),
            base_environment TEXT NOT NULL REFERENCES environments(name),
            description TEXT,
            collection_id TEXT,
            expires_at INTEGER,
            strict_expiry_enforcement INTEGER NOT NULL CHECK (strict_expiry_enforcement IN (0, 1)),
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );

        CREATE TABLE secret_values (
            secret_id TEXT NOT NULL REFERENCES secrets(id) ON DELETE CASCADE,
            environment_name TEXT NOT NULL REFERENCES environments(name),
            ciphertext BLOB NOT NULL,
            value_version INTEGER NOT NULL CHECK (value_version >= 1),
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (secret_id, environment_name)
        );

        CREATE TABLE route_secret_refs (
            route_id TEXT NOT NULL REFERENCES routes(id) ON DELETE CASCADE,
            environment_name TEXT NOT NULL,
            field TEXT NOT NULL,
            secret_id TEXT NOT NULL REFERENCES secrets(id) ON DELETE RESTRICT,
            by_name INTEGER NOT NULL CHECK (by_name IN (0, 1)),
            PRIMARY KEY (route_id, environment_name, field, secret_id)
        );
        CREATE INDEX route_secret_refs_secret ON route_secret_refs(secret_id);

        CREATE TABLE clients (
            id TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL,
            type TEXT NOT NULL CHECK (type IN ('user', 'server')),
            ip_address TEXT NOT NULL,
            ip_notes TEXT NOT NULL,
            description TEXT,
            enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
            collection_id TEXT,
            created_by TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );

        CREATE TABLE route_clients (
            route_id TEXT NOT NULL REFERENCES routes(id) ON DELETE CASCADE,
            client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
            environment_name TEXT NOT NULL REFERENCES environments(name),
            created_at INTEGER NOT NULL,
            PRIMARY KEY (route_id, client_id, environment_name)
        );
        CREATE INDEX route_clients_client ON route_clients(client_id);

        CREATE TABLE api_keys (
            id TEXT PRIMARY KEY NOT NULL,
            key_id TEXT NOT NULL UNIQUE,
            key_prefix TEXT NOT NULL,
            key_type TEXT NOT NULL CHECK (key_type IN ('standard', 'test', 'access_key')),
            name TEXT NOT NULL,
            key_hash BLOB NOT NULL CHECK (length(key_hash) = 32),
            revoked_at INTEGER,
            created_at INTEGER NOT NULL,
            last_used_at INTEGER,
            expires_at INTEGER,
            rate_limit_requests INTEGER CHECK (rate_limit_requests > 0),
            rate_limit_window_sec INTEGER CHECK (rate_limit_window_sec > 0),
            role_ids TEXT NOT NULL,
            scopes TEXT,
            created_by TEXT
        );

        CREATE TABLE audit_logs (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            action TEXT NOT NULL,
            resource_type TEXT NOT NULL,
            resource_id TEXT,
            details TEXT NOT NULL,
            ip_address TEXT,
            actor TEXT NOT NULL,
            api_key_id TEXT,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX audit_logs_created ON audit_logs(created_at);

        CREATE TABLE idempotency_keys (
            actor TEXT NOT NULL,
            idempotency_key TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            status INTEGER NOT NULL,
            response TEXT NOT NULL,
            request_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (actor, idempotency_key)
        );
        CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);

        CREATE TABLE api_requests (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            request_id TEXT NOT NULL,
            route_id TEXT,
            ts INTEGER NOT NULL,
            src_ip TEXT,
            method TEXT NOT NULL,
            path TEXT NOT NULL,
            status_code INTEGER,
            latency_ms INTEGER,
            upstream_latency_ms INTEGER,
            upstream_host TEXT,
            upstream_status INTEGER,
            error TEXT,
            environment TEXT,
            rate_limited INTEGER NOT NULL CHECK (rate_limited IN (0, 1)),
            signature_valid INTEGER,
            matched_client_id TEXT,
            identification_method TEXT,
            api_key_id TEXT,
            proxy_mode TEXT NOT NULL,
            client_origin TEXT NOT NULL
        );
        CREATE INDEX api_requests_route ON api_requests(route_id, seq);
        CREATE INDEX api_requests_request_id ON api_requests(request_id);
        CREATE INDEX api_requests_ts ON api_requests(ts);
        """

    /// The request log packed into chunks (see `RequestLogChunk`): the blobs, their rows' route and time ranges, an
    /// R-tree of their request-id times, and the last row id handed out.
    static let v7 = """
        CREATE TABLE request_log_chunks (
            first_seq INTEGER PRIMARY KEY,
            last_seq INTEGER NOT NULL,
            row_count INTEGER NOT NULL,
            min_ts INTEGER NOT NULL,
            max_ts INTEGER NOT NULL,
            rows BLOB NOT NULL
        );
        CREATE INDEX request_log_chunks_ts ON request_log_chunks(max_ts, min_ts, row_count);
        CREATE TABLE request_log_chunk_routes (
            route_id TEXT NOT NULL,
            first_seq INTEGER NOT NULL,
            row_count INTEGER NOT NULL,
            min_ts INTEGER NOT NULL,
            max_ts INTEGER NOT NULL,
            PRIMARY KEY (route_id, first_seq)
        ) WITHOUT ROWID;
        CREATE INDEX request_log_chunk_routes_seq ON request_log_chunk_routes(first_seq);
        CREATE VIRTUAL TABLE request_log_chunk_ids USING rtree_i32(first_seq, min_key, max_key);
        CREATE TABLE request_log_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            last_seq INTEGER NOT NULL
        );
        """
}

/// Moves the rows of the one-row-per-request table into chunks, keeping their ids, then drops it.
///
/// It reads the rows and writes the chunks with its own frozen copy of the code of the time
/// (`FrozenV7LogRow`, `FrozenV7ChunkEncoder`), never the application's: a migration must do forever what it did
/// when it landed.
enum RequestLogChunkMigration {
    static func moveRows(_ db: Database) throws {
        let encoder = FrozenV7ChunkEncoder()
        let rows = try Row.fetchCursor(db, sql: "SELECT * FROM api_requests ORDER BY seq")
        var pending: [FrozenV7LogRow] = []
        func flush() throws {
            guard !pending.isEmpty else { return }
            encoder.reset()
            for row in pending { encoder.append(row) }
            try encoder.write(db)
            pending.removeAll(keepingCapacity: true)
        }
        while let row = try rows.next() {
            pending.append(FrozenV7LogRow(row))
            if pending.count == FrozenV7ChunkEncoder.maxRows { try flush() }
        }
        try flush()
        // AUTOINCREMENT's high-water mark: ids of trimmed rows are not handed out again.
        let highest = max(
            try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'api_requests'") ?? 0,
            try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM api_requests") ?? 0)
        try db.execute(sql: "INSERT INTO request_log_state (id, last_seq) VALUES (1, ?)", arguments: [highest])
        try db.execute(sql: "DROP TABLE api_requests")
    }
}
