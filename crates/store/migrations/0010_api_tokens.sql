-- API tokens: only a hash of each secret is kept. `environments` is a JSON array of keys, NULL
-- for every environment. Revoked tokens stay, so their names remain in the change log's sense.
CREATE TABLE api_tokens (
    id BIGINT NOT NULL PRIMARY KEY,
    name VARCHAR(100) NOT NULL,
    role VARCHAR(20) NOT NULL,
    environments TEXT,
    secret_hash VARCHAR(64) NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT,
    revoked_at BIGINT
);
