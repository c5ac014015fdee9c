-- Bunting's schema on MySQL/MariaDB: in one migration, what migrations 1 to 7 build on SQLite
-- and PostgreSQL (see ../0001_init.sql to ../0007_environments.sql for what each table and
-- column means). Migrations 2 to 7 have nothing to do here; later ones are shared or get a
-- MySQL file of their own.
--
-- MySQL's dialect differs where it matters:
-- - A column that is a key or indexed is VARCHAR: TEXT cannot be a key without a prefix
--   length. 255 characters hold any key, tag or entity type Bunting accepts (63), an
--   environment's key with its deletion suffix, and every id (UUIDs). Free text, documents
--   and bodies are LONGTEXT.
-- - utf8mb4_nopad_bin compares bytes exactly, as SQLite and PostgreSQL do: keys are
--   case-sensitive, and trailing spaces (allowed in tags) count.
-- - Foreign keys are declared on the table: InnoDB ignores REFERENCES on a column.
-- - No partial indexes: the due-deliveries index holds the status instead.
-- - `key` is a reserved word, quoted.

CREATE TABLE environments (
    id BIGINT PRIMARY KEY,
    `key` VARCHAR(255) NOT NULL UNIQUE,
    name LONGTEXT NOT NULL,
    description LONGTEXT NOT NULL,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;
INSERT INTO environments (id, `key`, name, description, created_at) VALUES (1, 'production', 'production', '', 0);

CREATE TABLE id_counters (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    change_seq BIGINT NOT NULL,
    flag_id BIGINT NOT NULL,
    tag_id BIGINT NOT NULL,
    segment_id BIGINT NOT NULL,
    variant_id BIGINT NOT NULL,
    constraint_id BIGINT NOT NULL,
    distribution_id BIGINT NOT NULL,
    webhook_id BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;
INSERT INTO id_counters VALUES (1, 0, 0, 0, 0, 0, 0, 0, 0);

CREATE TABLE bunting_flags (
    environment_id BIGINT NOT NULL,
    id BIGINT NOT NULL,
    `key` VARCHAR(255) NOT NULL,
    deleted_at BIGINT,
    snapshot_id BIGINT NOT NULL,
    document LONGTEXT NOT NULL,
    PRIMARY KEY (environment_id, id),
    UNIQUE (environment_id, `key`),
    INDEX bunting_flags_by_key (`key`),
    FOREIGN KEY (environment_id) REFERENCES environments (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE bunting_tags (
    id BIGINT PRIMARY KEY,
    environment_id BIGINT NOT NULL,
    value VARCHAR(255) NOT NULL,
    UNIQUE (environment_id, value),
    FOREIGN KEY (environment_id) REFERENCES environments (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE entity_types (
    environment_id BIGINT NOT NULL,
    `key` VARCHAR(255) NOT NULL,
    PRIMARY KEY (environment_id, `key`),
    FOREIGN KEY (environment_id) REFERENCES environments (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE change_events (
    seq BIGINT PRIMARY KEY,
    event_id VARCHAR(255) NOT NULL UNIQUE,
    occurred_at BIGINT NOT NULL,
    actor LONGTEXT NOT NULL,
    environment_id BIGINT NOT NULL,
    flag_id BIGINT,
    flag_key VARCHAR(255),
    events LONGTEXT NOT NULL,
    previous LONGTEXT,
    current LONGTEXT,
    INDEX change_events_by_flag (flag_id, seq),
    INDEX change_events_by_environment (environment_id, seq),
    FOREIGN KEY (environment_id) REFERENCES environments (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE webhooks (
    id BIGINT PRIMARY KEY,
    environment_id BIGINT NOT NULL,
    url LONGTEXT NOT NULL,
    description LONGTEXT NOT NULL,
    events LONGTEXT NOT NULL,
    enabled BIGINT NOT NULL,
    timeout_seconds BIGINT NOT NULL,
    secret LONGTEXT,
    previous_secret LONGTEXT,
    previous_secret_expires_at BIGINT,
    disabled_reason LONGTEXT,
    format VARCHAR(255) NOT NULL,
    headers LONGTEXT NOT NULL,
    managed_by_config BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    failing_since BIGINT,
    FOREIGN KEY (environment_id) REFERENCES environments (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE webhook_messages (
    id VARCHAR(255) PRIMARY KEY,
    body LONGTEXT NOT NULL,
    created_at BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE webhook_deliveries (
    id VARCHAR(255) PRIMARY KEY,
    webhook_id BIGINT NOT NULL,
    event VARCHAR(255) NOT NULL,
    event_id VARCHAR(255),
    change_seq BIGINT,
    flag_id BIGINT,
    flag_key VARCHAR(255),
    message_id VARCHAR(255) NOT NULL,
    status VARCHAR(255) NOT NULL,
    attempts BIGINT NOT NULL,
    attempt_limit BIGINT,
    next_attempt_at BIGINT,
    leased_until BIGINT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT,
    last_status_code BIGINT,
    last_error_class VARCHAR(255),
    INDEX webhook_deliveries_due (webhook_id, status, next_attempt_at),
    INDEX webhook_deliveries_by_webhook (webhook_id, created_at),
    INDEX webhook_deliveries_by_age (created_at),
    INDEX webhook_deliveries_by_message (message_id),
    FOREIGN KEY (webhook_id) REFERENCES webhooks (id) ON DELETE CASCADE,
    FOREIGN KEY (message_id) REFERENCES webhook_messages (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE webhook_attempts (
    delivery_id VARCHAR(255) NOT NULL,
    number BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    duration_micros BIGINT NOT NULL,
    status_code BIGINT,
    error_class VARCHAR(255),
    error LONGTEXT,
    response_body LONGTEXT,
    request_headers LONGTEXT NOT NULL,
    next_attempt_at BIGINT,
    PRIMARY KEY (delivery_id, number),
    FOREIGN KEY (delivery_id) REFERENCES webhook_deliveries (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE flagr_adoption (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    adopted_at BIGINT NOT NULL,
    fingerprint LONGTEXT NOT NULL,
    change_seq BIGINT NOT NULL DEFAULT 0
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;
