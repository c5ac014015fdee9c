-- Environments become real: each has a name, a description and a creation time, and one of
-- them is the default (the unprefixed Flagr API). Until now there was one, id 1, `production`.
ALTER TABLE environments ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE environments ADD COLUMN description TEXT NOT NULL DEFAULT '';
-- Unix microseconds. The existing environment is as old as its first change.
ALTER TABLE environments ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0;
-- Unix microseconds of the deletion; NULL for a live environment. Deleted environments stay
-- (their changes stay in the log, which refers to them) under a key no live one can take.
ALTER TABLE environments ADD COLUMN deleted_at BIGINT;
UPDATE environments SET name = key, created_at = COALESCE((SELECT MIN(occurred_at) FROM change_events), 0);

-- A flag key keeps one id in every environment it exists in (bucketing is salted with the flag
-- id), so a flag's id is unique per environment, not overall. SQLite cannot change a primary
-- key in place: the table is rebuilt, on both backends alike.
CREATE TABLE bunting_flags_rebuilt (
    environment_id BIGINT NOT NULL REFERENCES environments (id),
    id BIGINT NOT NULL,
    -- Unique with soft-deleted flags included: a deleted flag keeps its key reserved (Flagr).
    key TEXT NOT NULL,
    -- Unix microseconds of the soft delete; NULL for a live flag.
    deleted_at BIGINT,
    -- Sequence of the latest change event of this flag (Flagr's snapshot_id).
    snapshot_id BIGINT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (environment_id, id),
    UNIQUE (environment_id, key)
);
INSERT INTO bunting_flags_rebuilt (environment_id, id, key, deleted_at, snapshot_id, document)
    SELECT environment_id, id, key, deleted_at, snapshot_id, document FROM bunting_flags;
DROP TABLE bunting_flags;
ALTER TABLE bunting_flags_rebuilt RENAME TO bunting_flags;
-- Finding a key's id in the other environments.
CREATE INDEX bunting_flags_by_key ON bunting_flags (key);

CREATE INDEX change_events_by_environment ON change_events (environment_id, seq);
