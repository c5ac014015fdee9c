-- Bunting's first schema. The same statements serve SQLite and PostgreSQL; a later migration
-- that needs a dialect of its own gets one file per backend.
--
-- Flags are stored as documents (the JSON of GET /api/v1/flags/{id}) because every mutation
-- reads the whole flag, applies a pure command to it and writes it back in one transaction;
-- the columns beside the document are the ones queries select on.

-- Every flag-owned row belongs to an environment. There is one for now; more come later without
-- a rewrite.
CREATE TABLE environments (
    id BIGINT PRIMARY KEY,
    key TEXT NOT NULL UNIQUE
);
INSERT INTO environments (id, key) VALUES (1, 'production');

-- The last id handed out per table and the change-log sequence, in one row that every mutation
-- locks first. The lock serialises writers, so change sequences are visible in commit order and
-- a reader that has seen sequence N never later finds a smaller one appear.
CREATE TABLE id_counters (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    change_seq BIGINT NOT NULL,
    flag_id BIGINT NOT NULL,
    tag_id BIGINT NOT NULL,
    segment_id BIGINT NOT NULL,
    variant_id BIGINT NOT NULL,
    constraint_id BIGINT NOT NULL,
    distribution_id BIGINT NOT NULL
);
INSERT INTO id_counters VALUES (1, 0, 0, 0, 0, 0, 0, 0);

CREATE TABLE flags (
    id BIGINT PRIMARY KEY,
    environment_id BIGINT NOT NULL REFERENCES environments (id),
    -- Unique with soft-deleted flags included: a deleted flag keeps its key reserved (Flagr).
    key TEXT NOT NULL,
    -- Unix microseconds of the soft delete; NULL for a live flag.
    deleted_at BIGINT,
    -- Sequence of the latest change event of this flag (Flagr's snapshot_id).
    snapshot_id BIGINT NOT NULL,
    document TEXT NOT NULL,
    UNIQUE (environment_id, key)
);

-- Tags are shared by the flags of an environment; a flag's document lists the ones it carries.
CREATE TABLE tags (
    id BIGINT PRIMARY KEY,
    environment_id BIGINT NOT NULL REFERENCES environments (id),
    value TEXT NOT NULL,
    UNIQUE (environment_id, value)
);

-- Every entity type a flag has used, for GET /flags/entity_types and the UI's picker.
CREATE TABLE entity_types (
    environment_id BIGINT NOT NULL REFERENCES environments (id),
    key TEXT NOT NULL,
    PRIMARY KEY (environment_id, key)
);

-- The change log: one row per mutation, written in the mutation's transaction. Flag history,
-- Flagr's snapshots, webhooks and other instances' caches all read it.
CREATE TABLE change_events (
    seq BIGINT PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    -- Unix microseconds.
    occurred_at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    environment_id BIGINT NOT NULL REFERENCES environments (id),
    flag_id BIGINT,
    flag_key TEXT,
    -- JSON array of what the change did: [{"event": "segment.updated", "component": {...}}].
    events TEXT NOT NULL,
    -- Flag documents before and after the change; NULL where there is none (before a create).
    previous TEXT,
    current TEXT
);
CREATE INDEX change_events_by_flag ON change_events (flag_id, seq);
