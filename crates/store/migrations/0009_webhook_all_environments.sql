-- A webhook receives its own environment's changes, or with all_environments every
-- environment's (audit streams).
ALTER TABLE webhooks ADD COLUMN all_environments INTEGER NOT NULL DEFAULT 0;
