-- The adoption of Flagr's tables, when Bunting adopted them: one row, so a restart does not
-- adopt again, with what Flagr's tables held then, so a later write by Flagr is noticed.
CREATE TABLE flagr_adoption (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    -- Unix microseconds.
    adopted_at BIGINT NOT NULL,
    fingerprint TEXT NOT NULL
);
