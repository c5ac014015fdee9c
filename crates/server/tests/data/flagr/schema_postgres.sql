-- Flagr's schema as GORM 1.24 creates it (flagr-spec.md §2), for the adoption tests.
CREATE TABLE flags (id bigserial PRIMARY KEY, created_at timestamp with time zone, updated_at timestamp with time zone, deleted_at timestamp with time zone, key varchar(64) UNIQUE, description text NOT NULL, created_by text, updated_by text, enabled boolean, snapshot_id bigint, notes text, data_records_enabled boolean NOT NULL, entity_type text);
CREATE TABLE segments (id bigserial PRIMARY KEY, created_at timestamp with time zone, updated_at timestamp with time zone, deleted_at timestamp with time zone, flag_id bigint, description text, rank bigint, rollout_percent bigint);
CREATE INDEX idx_segment_flagid ON segments (flag_id);
CREATE TABLE constraints (id bigserial PRIMARY KEY, created_at timestamp with time zone, updated_at timestamp with time zone, deleted_at timestamp with time zone, segment_id bigint, property text NOT NULL, operator text NOT NULL, value text NOT NULL);
CREATE TABLE distributions (id bigserial PRIMARY KEY, created_at timestamp with time zone, updated_at timestamp with time zone, deleted_at timestamp with time zone, segment_id bigint, variant_id bigint, variant_key text, percent bigint, bitmap text);
CREATE TABLE variants (id bigserial PRIMARY KEY, created_at timestamp with time zone, updated_at timestamp with time zone, deleted_at timestamp with time zone, flag_id bigint, key text, attachment text);
CREATE TABLE tags (id bigserial PRIMARY KEY, created_at timestamp with time zone, updated_at timestamp with time zone, deleted_at timestamp with time zone, value varchar(64) UNIQUE);
CREATE TABLE flags_tags (flag_id bigint NOT NULL, tag_id bigint NOT NULL, PRIMARY KEY (flag_id, tag_id));
CREATE TABLE flag_snapshots (id bigserial PRIMARY KEY, created_at timestamp with time zone, updated_at timestamp with time zone, deleted_at timestamp with time zone, flag_id bigint, updated_by text, flag text);
CREATE TABLE flag_entity_types (id bigserial PRIMARY KEY, created_at timestamp with time zone, updated_at timestamp with time zone, deleted_at timestamp with time zone, key varchar(64) UNIQUE);
CREATE TABLE users (id bigserial PRIMARY KEY, created_at timestamp with time zone, updated_at timestamp with time zone, deleted_at timestamp with time zone, email text);
